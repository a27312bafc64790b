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
from typing import Any

from bayessa.errors import SpecError
from bayessa.model.spec import SamplerSpec

__all__ = ["sample", "show_progress"]


def show_progress() -> bool:
    """A progress bar only on an interactive terminal (never in CI logs or captured output).

    Returns
    -------
    bool
        True when stderr is a terminal and the ``CI`` environment variable is unset or empty.
    """
    return sys.stderr.isatty() and not os.environ.get("CI")


def sample(
    model: Any,
    settings: SamplerSpec,
    *,
    progress: bool | None = None,
    timings: dict[str, Any] | None = None,
) -> Any:
    """Draw from the posterior of ``model``.

    Parameters
    ----------
    model : pymc.Model
    settings : SamplerSpec
        Back end, chains, draws, tune, target_accept, seed, cores.
    progress : bool, optional
        Show a progress bar; default: only on a terminal.
    timings : dict, optional
        Filled with ``compile_s`` (nutpie only), ``sample_s`` and ``compile_cache`` (``"hit"``,
        ``"miss"``, ``"partial"`` or ``"off"``, with ``compile_cache_reason``).

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
        import nutpie

        from bayessa._runtime import forget_unloaded_jax
        from bayessa.sampling.compile_cache import compile_model

        forget_unloaded_jax()  # nutpie imported ArviZ

        compiled, how = compile_model(model)
        timings.update(
            compile_s=how.seconds, compile_cache=how.cache, compile_cache_reason=how.reason
        )
        t0 = time.perf_counter()
        dt = nutpie.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=cores,
            seed=settings.seed,
            target_accept=settings.target_accept,
            adaptation=settings.adaptation,
            save_warmup=False,
            progress_bar=progress,
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
        with model, warnings.catch_warnings():
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
