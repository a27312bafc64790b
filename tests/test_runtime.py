"""bayessa._imports: ArviZ's lazy ``jax`` must not make SciPy import JAX in every fit."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SCRIPT = """
import json, sys
import numpy as np
import arviz  # arviz_base registers a lazy jax
from scipy.special import logsumexp
from bayessa._runtime import forget_unloaded_jax
registered = type(sys.modules.get("jax")).__name__
dropped = forget_unloaded_jax()
logsumexp(np.ones(3))  # SciPy checks sys.modules for jax
loaded_after_scipy = "jax" in sys.modules
import arviz_base.io_numpyro as io
version = io.jax.__version__  # the stand-in imports JAX when used
print(json.dumps({"registered": registered, "dropped": dropped,
                  "loaded_after_scipy": loaded_after_scipy,
                  "version_ok": version == sys.modules["jax"].__version__}))
"""


def test_lazy_jax_is_dropped_and_still_importable_on_use():
    pytest.importorskip("jax")
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res == {
        "registered": "_LazyModule",
        "dropped": True,
        "loaded_after_scipy": False,
        "version_ok": True,
    }


def test_a_loaded_jax_is_left_alone():
    pytest.importorskip("jax")
    import jax  # noqa: F401

    from bayessa._runtime import forget_unloaded_jax

    assert forget_unloaded_jax() is False
    assert "jax" in sys.modules


NUTPIE_SCRIPT = """
import json, sys
from bayessa._runtime import import_nutpie
nutpie = import_nutpie()
after_import = {m: m in sys.modules for m in ("arviz", "arviz_plots", "arviz_stats")}
import arviz  # a later import gets the real package, and nutpie's reference works too
real = type(arviz).__name__ == "module" and hasattr(arviz, "summary")
via_nutpie = nutpie.sample.__globals__["arviz"].from_dict is arviz.from_dict
print(json.dumps({"after_import": after_import, "real": real, "via_nutpie": via_nutpie}))
"""


def test_nutpie_is_imported_without_arviz_which_still_works_when_used():
    out = subprocess.run(
        [sys.executable, "-c", NUTPIE_SCRIPT], capture_output=True, text=True, check=True
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["after_import"] == {"arviz": False, "arviz_plots": False, "arviz_stats": False}
    assert res["real"] and res["via_nutpie"]
