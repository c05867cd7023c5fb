"""SciPy is an optional dependency: chainrule's core never imports it, and chainrule.scipy says how to get it."""
import subprocess
import sys

import pytest

_NO_SCIPY = "import sys; sys.modules['scipy'] = None\n"


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_core_does_not_import_scipy():
    code = ("import sys, chainrule, chainrule.numpy, chainrule.numpy.linalg\n"
            "assert not [m for m in sys.modules if m == 'scipy' or m.startswith('scipy.')], 'scipy was imported'\n")
    r = _run(code)
    assert r.returncode == 0, r.stderr


def test_clear_error_without_scipy():
    r = _run(_NO_SCIPY + "import chainrule\nimport chainrule.scipy\n")
    assert r.returncode != 0
    assert "chainrule.scipy needs SciPy, an optional dependency: pip install 'chainrule[scipy]'" in r.stderr


def test_submodules_import_lazily():
    pytest.importorskip("scipy")
    code = ("import sys, chainrule.scipy as csp\n"
            "assert 'chainrule.scipy.integrate' not in sys.modules\n"
            "csp.integrate\n"
            "assert 'chainrule.scipy.integrate' in sys.modules\n")
    r = _run(code)
    assert r.returncode == 0, r.stderr
