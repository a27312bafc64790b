"""The bundled analysis: the default spec and the synthetic SA-groups data, shipped as package data.

The files live here so that an installed wheel carries them; ``models/`` and ``data/`` at the top of
a checkout hold symbolic links to them. They apply only when the user asks for the bundled analysis
(no ``--data`` and no ``--model``); a user's own data never inherits their settings.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["bundled_data", "bundled_spec", "bundled_specs"]


def _path(*parts: str) -> Path:
    # bayessa is installed as a folder (wheel or editable), never zipped, so this is a real path.
    return Path(str(files(__name__).joinpath(*parts)))


def bundled_spec(name: str = "partnership") -> Path:
    """Path of a bundled model spec.

    ``partnership`` (the default), ``calendar_era``, ``stratified_setting``, ``founding_trend``,
    ``current_leader``, ``closure_reasons``.

    Parameters
    ----------
    name : str, default "partnership"
        The spec's file name without ``.toml``.

    Returns
    -------
    Path

    Raises
    ------
    SpecError
        No bundled spec has that name.
    """
    path = _path("models", f"{name}.toml")
    if not path.is_file():
        from bayessa.errors import SpecError

        raise SpecError(
            f"no bundled spec named {name!r}; the bundled specs are {', '.join(bundled_specs())}"
        )
    return path


def bundled_specs() -> list[str]:
    """Names of the bundled model specs.

    Returns
    -------
    list of str
        The file names without ``.toml``, sorted.
    """
    return sorted(p.stem for p in _path("models").glob("*.toml"))


def bundled_data() -> Path:
    """Path of the bundled synthetic SA-groups table (``sa_groups.csv``).

    Returns
    -------
    Path
    """
    return _path("data", "sa_groups.csv")
