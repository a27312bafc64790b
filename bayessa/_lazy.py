"""Lazy exports for packages: public names resolve on first use, so importing a package is cheap.

A package's ``__init__`` declares ``{public name: defining module}`` and gets ``__getattr__`` and
``__dir__``. A name is looked up in its module only when first used (PyMC, ArviZ and matplotlib
load only when a step needs them), and a submodule never shadows a public name of the same
spelling: no public name is also a module name (``tests/test_layout.py`` checks every package).
Submodules not yet imported are imported on attribute access, as for a regular package.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from importlib.util import find_spec
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` for ``package`` that import on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : mapping
        Public name -> dotted module that defines it (absolute, or relative to ``package`` when
        it starts with ``.``).

    Returns
    -------
    (__getattr__, __dir__)
    """
    namespace = import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            # ``bayessa.model.spec`` after a bare ``import bayessa``: import the submodule.
            if not name.startswith("__") and find_spec(f"{package}.{name}") is not None:
                return import_module(f"{package}.{name}")
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
