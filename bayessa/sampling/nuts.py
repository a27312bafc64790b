"""Sampler back ends: a PyMC model + sampler settings -> an ArviZ DataTree (posterior, sample_stats).

``nutpie`` (default) compiles the model with numba (re-using compiled models across processes, see
:mod:`bayessa.compile`) and runs NUTS in Rust; ``pymc`` uses PyMC's own
NUTS; ``numpyro`` uses JAX (install ``bayessa[numpyro]``). Every back end gets the seed; the same
seed on the same machine gives the same draws.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

from bayessa.errors import SpecError
from bayessa.model.spec import SamplerSpec

__all__ = ["LOW_RANK_MAX_PARAMETERS", "choose_adaptation", "sample", "show_progress"]

#: The last compiled model, by warm key: more chains of it need no second load.
_LAST: dict[str, Any] = {}


def show_progress() -> bool:
    """A progress bar only on an interactive terminal (never in CI logs or captured output).

    Returns
    -------
    bool
        True when stderr is a terminal and the ``CI`` environment variable is unset or empty.
    """
    return sys.stderr.isatty() and not os.environ.get("CI")


#: Above this many unconstrained parameters ``adaptation = "auto"`` samples with nutpie's diagonal
#: mass-matrix adaptation, at or below it with the low-rank one. Measured on the 2-core machine:
#: low-rank adaptation costs 30 us per gradient at 128 parameters, 108 at 129 and 430-2,000 at
#: 140-250 (the diagonal 6 us throughout). A survival model with 200 county effects (209
#: parameters, 20,000 units, 4 x 1,000 draws) sampled in 63.1 s with low-rank adaptation (min
#: bulk ESS 6,940) and in 2.4 s with the diagonal (2,297): 9x the ESS per second; the expansion
#: model of a 7-level trait (246 parameters) in 120-240 s against 2.4 s. Below the threshold
#: low-rank adaptation gave ~1.5x the min ESS of the diagonal on the bundled data.
LOW_RANK_MAX_PARAMETERS = 128


def choose_adaptation(requested: str, n_parameters: int) -> tuple[str, str]:
    """The mass-matrix adaptation nutpie should use for a model, and why.

    Parameters
    ----------
    requested : {"auto", "low_rank", "diag"}
        The sampler setting; ``"auto"`` chooses by size (:data:`LOW_RANK_MAX_PARAMETERS`).
    n_parameters : int
        Unconstrained parameters of the model.

    Returns
    -------
    adaptation : {"low_rank", "diag"}
    reason : str
    """
    if requested != "auto":
        return requested, f"{requested} (as set); {n_parameters} parameters"
    if n_parameters > LOW_RANK_MAX_PARAMETERS:
        return "diag", (f"diag: {n_parameters} parameters > {LOW_RANK_MAX_PARAMETERS}, where "
                        "nutpie's low-rank adaptation becomes ~100x slower per gradient")  # fmt: skip
    return "low_rank", f"low_rank: {n_parameters} parameters <= {LOW_RANK_MAX_PARAMETERS}"


def sample(
    model: Any,
    settings: SamplerSpec,
    *,
    progress: bool | None = None,
    timings: dict[str, Any] | None = None,
    warm_key: str | None = None,
    prefetch: Sequence[str] = (),
) -> Any:
    """Draw from the posterior of ``model``.

    Parameters
    ----------
    model : pymc.Model or callable
        The model, or a function of no arguments that builds it: then it is built only when
        needed (not on a warm start).
    settings : SamplerSpec
        Back end, chains, draws, tune, target_accept, seed, cores.
    progress : bool, optional
        Show a progress bar; default: only on a terminal.
    timings : dict, optional
        Filled with ``build_s`` (when ``model`` is a function), ``compile_s`` (nutpie only),
        ``sample_s`` and ``compile_cache`` (``"warm"``, ``"hit"``, ``"miss"``, ``"partial"`` or
        ``"off"``, with ``compile_cache_reason``).
    warm_key : str, optional
        nutpie only: the fit's :func:`bayessa.sampling.warm.fit_key`. A warm entry under it is
        loaded instead of building and compiling the model, and one is stored after a full
        compilation.
    prefetch : sequence of str
        nutpie only: modules to import while the chains run (what the steps after sampling
        need), in this thread, which otherwise only waits for the sampler's threads.

    Returns
    -------
    xarray.DataTree
        With ``posterior`` and ``sample_stats`` (warm-up draws are not kept).
    """
    progress = show_progress() if progress is None else progress
    cores = settings.cores or min(settings.chains, os.cpu_count() or 1)
    timings = {} if timings is None else timings
    t0 = time.perf_counter()
    if settings.backend == "nutpie":
        from bayessa._runtime import import_nutpie
        from bayessa.sampling.compile_cache import compile_model
        from bayessa.sampling.trace import trace_to_tree

        nutpie = import_nutpie()
        compiled = _LAST.get(warm_key) if warm_key is not None else None
        if compiled is not None:  # more chains of the model this process just sampled
            timings.update(compile_s=0.0, compile_cache="in memory", compile_cache_reason="")
        elif warm_key is not None:
            from bayessa.sampling import warm

            compiled = warm.load_compiled(warm_key)
            timings.update(compile_s=time.perf_counter() - t0, compile_cache="warm")
            timings["compile_cache_reason"] = ""
        if compiled is None:
            compiled, how = compile_model(_built(model, timings), warm_key=warm_key)
            timings.update(
                compile_s=how.seconds, compile_cache=how.cache, compile_cache_reason=how.reason
            )
        if warm_key is not None:
            _LAST.clear()
            _LAST[warm_key] = compiled
        adaptation, why = choose_adaptation(settings.adaptation, int(compiled.n_dim))
        timings.update(adaptation=adaptation, adaptation_reason=why)
        t0 = time.perf_counter()
        sampler = nutpie.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=cores,
            seed=settings.seed,
            target_accept=settings.target_accept,
            adaptation=adaptation,
            save_warmup=False,
            progress_bar=progress,
            return_raw_trace=True,
            blocking=False,
        )
        raw = _wait(sampler, prefetch, timings)
        dt = trace_to_tree(
            raw, unconstrained_names=compiled.reparameterized_names, coords=compiled.coords
        )
    elif settings.backend in ("pymc", "numpyro"):
        import pymc as pm

        if settings.backend == "numpyro":
            try:
                import numpyro  # noqa: F401
            except ImportError:
                raise SpecError(
                    "sampler 'numpyro' needs JAX and numpyro: pip install 'bayessa[numpyro]', "
                    "or use --sampler nutpie (the default) or pymc"
                ) from None
        with _built(model, timings), warnings.catch_warnings():
            # PyMC warns when it cannot use all cores for all chains; not useful to users here.
            warnings.filterwarnings("ignore", message=".*chains.*cores.*", category=UserWarning)
            dt = pm.sample(
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                cores=cores,
                random_seed=settings.seed,
                target_accept=settings.target_accept,
                nuts_sampler=settings.backend,
                progressbar=progress,
                compute_convergence_checks=False,
                return_inferencedata=True,
            )
    else:  # pragma: no cover - the spec validates the back end
        raise SpecError(f"unknown sampler '{settings.backend}'")
    timings["sample_s"] = time.perf_counter() - t0
    for group in list(dt.children):
        if group not in ("posterior", "sample_stats"):
            del dt[group]
    return dt


def _built(model: Any, timings: dict[str, Any]) -> Any:
    """The model itself, or built by calling it (timed as ``build_s``)."""
    if hasattr(model, "free_RVs") or not callable(model):
        return model
    t = time.perf_counter()
    built = model()
    timings["build_s"] = time.perf_counter() - t
    return built


def _wait(sampler: Any, prefetch: Sequence[str], timings: dict[str, Any]) -> Any:
    """Import ``prefetch`` while nutpie's threads sample, then wait for the trace.

    The seconds spent importing are ``timings["prefetch_s"]`` (part of ``sample_s``). As
    :func:`nutpie.sample` does when blocking: an interrupt aborts the sampler (keeping the draws
    so far), any other error cancels it.
    """
    import importlib

    try:
        t = time.perf_counter()
        for name in prefetch:
            try:
                importlib.import_module(name)
            except ImportError:  # optional; the step that needs it will say so
                pass
        timings["prefetch_s"] = time.perf_counter() - t
        return sampler.wait()
    except KeyboardInterrupt:
        return sampler.abort()
    except BaseException:
        sampler.cancel()
        raise
