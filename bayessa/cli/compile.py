"""``python -m bayessa.compile`` / ``bayessa compile``: compile a spec's model into the cache.

The library side is :mod:`bayessa.sampling.compile_cache`.
"""

from __future__ import annotations

from collections.abc import Sequence

from bayessa.cli.common import ArgumentParser, argv_or_sys, run_main

__all__ = ["build_parser", "main"]

PROG = "python -m bayessa.compile"


def build_parser() -> ArgumentParser:
    """The command's parser.

    Returns
    -------
    ArgumentParser
        A :class:`bayessa.cli.common.ArgumentParser` (bad arguments exit 2).
    """
    p = ArgumentParser(
        prog=PROG,
        description=(
            "Compile a model spec's model for nutpie without sampling, so that later fits of the "
            "same model and data load it from the cache (PyTensor's compile directory)."
        ),
        epilog="Exit codes: 0 compiled; 2 bad data or spec (message on stderr).",
    )
    p.add_argument(
        "--model", metavar="PATH", help="model spec TOML (default: models/partnership.toml)"
    )
    p.add_argument(
        "--data",
        metavar="PATH",
        help="CSV, Parquet or a Parquet dataset folder (default: the spec's data)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Compile a spec's model for nutpie into the cache; returns the exit status (0, or 2).

    Parameters
    ----------
    argv : sequence of str, optional
        The command's arguments, without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 compiled; 2 bad data, spec or arguments; 130 interrupted.
    """

    def body() -> int:
        args = build_parser().parse_args(argv_or_sys(argv))
        return _compile_spec(args.model, args.data)

    return run_main(body, PROG)


def _compile_spec(model_path: str | None, data: str | None) -> int:
    from pytensor.link.numba.cache import NUMBA_CACHE_PATH

    from bayessa.api.pipeline import data_as_inputs
    from bayessa.model.pem import build_model
    from bayessa.model.preparation import prepare, resolve_spec
    from bayessa.sampling.compile_cache import compile_model
    from bayessa.sampling.warm import fit_key

    spec = resolve_spec(model_path)
    prepared = prepare(data, spec)
    spec = prepared.spec  # as a fit applies it (cut points from the data, if none are given)
    # the model a fit builds, so that the fit loads what this compiles
    inputs = data_as_inputs(prepared.cells)
    model, _ = build_model(prepared.cells, prepared.design, spec, data_containers=inputs)
    # and the warm entry, so that the first fit of this model and data is already warm
    key = fit_key(prepared.cells, prepared.design, spec, data_containers=inputs)
    _, info = compile_model(model, warm_key=key)

    where = f"cached in {NUMBA_CACHE_PATH}" if info.cache != "off" else info.reason
    print(
        f"{PROG}: model '{spec.name}' compiled in {info.seconds:.1f} s (cache {info.cache}; {where})"
    )
    return 0
