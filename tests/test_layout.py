"""The package's layout: no public name shadowed by a module, no import cycles, layers respected.

The layers are documented in docs/architecture.md; a module imports only from its own
subpackage and from lower layers (function-level imports count too).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import types
from pathlib import Path

import pytest

import bayessa

PACKAGE = Path(bayessa.__file__).parent

#: Layer of each top-level part of bayessa, lowest first (docs/architecture.md).
LAYERS = {
    "errors": 0,
    "_rng": 1, "_lazy": 1, "_runtime": 1, "resources": 1,
    "data": 2, "frequentist": 2,
    "model": 3,
    "sampling": 4,
    "posterior": 5,
    "simulate": 6, "checks": 6, "growth": 6,
    "plots": 7,
    "report": 8, "sbc": 8,
    "api": 9,
    "cli": 10,
    # entry points: python -m bayessa[.fit|.cells|.logrank|.compare|.compile|.report|.sbc|.simulate]
    "fit": 11, "cells": 11, "predict": 11, "logrank": 11, "cuminc": 11, "compare": 11, "compile": 11,
    "expansion": 11,
    "__main__": 11,
}  # fmt: skip


def _modules() -> dict[str, Path]:
    out = {}
    for p in PACKAGE.rglob("*.py"):
        parts = list(p.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _imports(path: Path, known: set[str]) -> set[str]:
    """bayessa modules imported anywhere in a file (module level or inside functions)."""
    deps = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bayessa"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                deps.add(sub if sub in known else node.module)
        elif isinstance(node, ast.Import):
            deps |= {a.name for a in node.names if a.name.startswith("bayessa")}
    return deps & known


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imports(p, set(mods)) - {m} for m, p in mods.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    if parts[-1] == "__main__":
        return "__main__"
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_imports_and_no_public_name_is_shadowed():
    names = [m.name for m in pkgutil.walk_packages(bayessa.__path__, "bayessa.")]
    for name in names:
        if not name.endswith("__main__"):
            importlib.import_module(name)  # the python -m shims included
    packages = ["bayessa"] + [n for n in names if hasattr(importlib.import_module(n), "__path__")]
    shadowed = []
    for pkg_name in packages:
        pkg = importlib.import_module(pkg_name)
        for public in getattr(pkg, "__all__", ()):
            if isinstance(getattr(pkg, public), types.ModuleType):
                shadowed.append(f"{pkg_name}.{public}")
    assert not shadowed, f"public names that are modules: {shadowed}"
    # the library functions behind commands of the same name stay functions
    assert bayessa.fit is importlib.import_module("bayessa.api.pipeline").fit
    assert bayessa.split is importlib.import_module("bayessa.data.lexis").split
    assert bayessa.logrank is importlib.import_module("bayessa.frequentist.rank_tests").logrank


def test_lazy_exports_name_their_defining_module():
    from bayessa import _EXPORTS, _RENAMED

    for public, module in _EXPORTS.items():
        obj = getattr(importlib.import_module(module), _RENAMED.get(public, public))
        assert getattr(bayessa, public) is obj, public
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        bayessa.nope  # noqa: B018


def test_no_import_cycles():
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_layers_import_only_downwards():
    graph = _graph()
    unknown = {_part(m) for m in graph} - set(LAYERS) - {"__init__"}
    assert not unknown, f"parts without a layer (add them to LAYERS and the docs): {unknown}"
    wrong = []
    for mod, deps in graph.items():
        if mod == "bayessa":
            continue
        for dep in deps:
            if dep == "bayessa" or _part(dep) == _part(mod):
                continue
            if LAYERS[_part(dep)] >= LAYERS[_part(mod)]:
                wrong.append(f"{mod} -> {dep}")
    assert not wrong, "imports sideways or upwards:\n" + "\n".join(sorted(wrong))


def test_every_subpackage_exports_its_modules_public_names():
    missing = []
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        if init.parent.name == "cli":  # one module per command: each is used as a module
            continue
        pkg = importlib.import_module(f"bayessa.{init.parent.name}")
        exported = set(getattr(pkg, "__all__", ()))
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{pkg.__name__}.{info.name}")
            missing += [f"{module.__name__}.{n}" for n in getattr(module, "__all__", ())
                        if n not in exported]  # fmt: skip
    assert not missing, f"names not exported by their package: {missing}"
