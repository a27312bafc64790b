"""Sphinx configuration: the API reference, rendered from bayessa's numpydoc docstrings (make docs)."""

from __future__ import annotations

import bayessa

project = "bayessa"
author = "the bayessa developers"
release = version = bayessa.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.mathjax", "sphinx.ext.intersphinx", "numpydoc"]
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build"]
root_doc = "index"

# Members in source order, documented where they are defined (packages only re-export them).
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
# No network here: intersphinx inventories are not fetched; references stay plain text.
intersphinx_mapping: dict = {}
nitpicky = False
html_theme = "alabaster"
html_static_path: list[str] = []

# Every documented function and class has its parameters and returns written down.
numpydoc_validation_checks = {"PR01", "RT01"}


def _skip_foreign(app, what, name, obj, skip, options):
    """Skip classes and functions a module only imports (``typing.Any``, ``dataclasses.field``).

    autodoc leaves them out of the page anyway (their ``__module__`` is not the module's), but
    Sphinx 9 processes their docstrings first, so numpydoc would validate third-party code.
    """
    import inspect

    if what == "module" and (inspect.isclass(obj) or inspect.isroutine(obj)):
        if not str(getattr(obj, "__module__", "") or "").startswith("bayessa"):
            return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign)
