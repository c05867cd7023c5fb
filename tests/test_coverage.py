"""``chainrule.coverage``: the probe finds what each function supports (and notices when a rule breaks), and
docs/coverage.md is the current report."""
import pathlib

import numpy as np
import pytest

import chainrule.numpy as cnp
from chainrule.coverage import coverage, report
from chainrule.ops import elementwise as E

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "coverage.md"


def test_docs_coverage_md_is_current():
    assert DOC.exists(), "docs/coverage.md is missing: run `python -m chainrule.coverage > docs/coverage.md`"
    assert DOC.read_text() == report(), (
        "docs/coverage.md is stale: regenerate it with `python -m chainrule.coverage > docs/coverage.md`")


def test_known_entries():
    t = coverage(modules=["numpy"], names=["sin", "argsort", "floor", "sort", "stop_gradient", "unique", "maximum"])
    assert t["numpy.sin"] == {"vjp": "yes", "jvp": "yes", "batch": "yes", "complex": "yes"}
    assert t["numpy.argsort"] == {"vjp": "n/a", "jvp": "n/a", "batch": "yes", "complex": "n/a"}
    assert t["numpy.floor"]["vjp"] == "zero" and t["numpy.floor"]["complex"] == "n/a"  # NumPy: no complex floor
    assert t["numpy.sort"] == {"vjp": "yes", "jvp": "yes", "batch": "yes", "complex": "yes"}
    assert t["numpy.stop_gradient"]["vjp"] == "zero"
    assert t["numpy.unique"]["batch"] == "ragged"
    assert t["numpy.maximum"]["complex"] == "yes"  # NumPy orders complex numbers lexicographically
    assert "numpy.shape" not in coverage(modules=["numpy"], names=["shape"])  # a query, listed apart


def test_probe_notices_a_broken_rule(monkeypatch):
    before = coverage(modules=["numpy"], names=["exp2"])["numpy.exp2"]
    assert before == {"vjp": "yes", "jvp": "yes", "batch": "yes", "complex": "yes"}
    p = E.exp2_p
    monkeypatch.setattr(p, "vjp", (lambda g, out, x: g * out,))  # missing the factor log(2)
    monkeypatch.setattr(p, "batch", None)
    after = coverage(modules=["numpy"], names=["exp2"])["numpy.exp2"]
    assert after["vjp"] == "no" and after["jvp"] == "yes" and after["batch"] == "loop"
    assert after["complex"] == "no"


def test_probe_notices_a_broken_complex_rule(monkeypatch):
    monkeypatch.setattr(E.abs_p, "vjp", (lambda g, out, x: g * E.sign(E.real(x)),))
    row = coverage(modules=["numpy"], names=["abs"])["numpy.abs"]
    assert row["vjp"] == "yes" and row["complex"] == "no"


def test_report_lists_gaps_and_pass_throughs():
    text = report(coverage(modules=["numpy"], names=["sin"]))
    assert "| `sin` | yes | yes | yes | yes |" in text
    assert "`fill_diagonal`" in text and "`arange`" in text
    assert "`i0`" in text  # not implemented: traced values raise


@pytest.mark.parametrize("name", ["sum", "einsum", "linspace", "interp", "histogram"])
def test_every_listed_numpy_function_is_chainrules(name):
    assert getattr(cnp, name) is not getattr(np, name)
    assert f"numpy.{name}" in coverage(modules=["numpy"], names=[name])
