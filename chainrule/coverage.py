"""What each chainrule function supports, found by running it: reverse mode, forward mode, vmap, complex inputs.

``coverage()`` probes every public function of ``chainrule.numpy`` (and of ``chainrule.numpy.linalg``,
``chainrule.numpy.fft`` and ``chainrule.scipy``'s submodules when they are importable) on small inputs, each
time it is called (nothing is cached):

- **vjp** / **jvp**: ``chainrule.testing.check_vjp`` / ``check_jvp`` against central differences on real
  float64 inputs. ``zero`` means the derivative is identically zero there (``floor``, ``sign``); ``n/a`` means
  the function has no floating-point output to differentiate (``argsort``, ``shape``).
- **batch**: ``vmap`` over two stacked inputs equals a loop over them, with a batching rule (``loop`` when the
  engine fell back to its loop over the batch).
- **complex**: with complex inputs the result equals NumPy's/SciPy's and both derivative checks pass (``n/a``
  where NumPy/SciPy themselves reject complex inputs or the output is not differentiable).

Each cell is ``yes``, ``no`` (it raised or gave a wrong result), one of the notes above, or ``-`` when no probe
input suits the function. ``python -m chainrule.coverage > docs/coverage.md`` writes the table that
tests/test_coverage.py keeps up to date.

>>> table = coverage(modules=["numpy"], names=["sin", "argsort"])
>>> table["numpy.sin"]
{'vjp': 'yes', 'jvp': 'yes', 'batch': 'yes', 'complex': 'yes'}
>>> table["numpy.argsort"]["vjp"]
'n/a'
"""
import importlib
import sys
import types
import warnings

import numpy as np

__all__ = ["coverage", "report", "main"]

_MODULES = {  # chainrule module -> (prefix, the library module it mirrors, or None to take every own function)
    "numpy": ("chainrule.numpy", None),
    "numpy.linalg": ("chainrule.numpy.linalg", "numpy.linalg"),
    "numpy.fft": ("chainrule.numpy.fft", "numpy.fft"),
    "scipy.special": ("chainrule.scipy.special", "scipy.special"),
    "scipy.linalg": ("chainrule.scipy.linalg", "scipy.linalg"),
    "scipy.signal": ("chainrule.scipy.signal", "scipy.signal"),
    "scipy.integrate": ("chainrule.scipy.integrate", "scipy.integrate"),
    "scipy.stats": ("chainrule.scipy.stats", "scipy.stats"),
}

# ---------------------------------------------------------------------------------------------------------
# Probe inputs
# ---------------------------------------------------------------------------------------------------------

_V = np.array([0.31, 0.57, 0.74])
_V2 = np.array([0.45, 0.22, 0.68])
_VBIG = np.array([1.31, 1.57, 1.74])
_M = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, 0.2], [0.1, 0.2, 1.8]])
_M2 = np.array([[0.7, -0.2, 0.4], [0.1, 0.9, -0.3], [0.5, 0.2, 1.1]])
_I = np.array([2, 0, 1])


_IV = np.array([6, 3, 5])
_IV2 = np.array([2, 3, 1])


def _generic():
    """Candidate calls tried in order until one runs cleanly, each ``(make, args)`` where ``make(F)`` turns the
    function ``F`` (chainrule's, or the reference library's) into a function of the arrays ``args``."""
    same = lambda F: F  # noqa: E731
    yield same, (_V,)
    yield same, (_M,)
    yield same, (_V, _V2)
    yield same, (_M, _M2)
    yield same, (_M, _V)
    yield same, (_VBIG,)
    yield (lambda F: lambda x: F(x, 1)), (_V,)
    yield (lambda F: lambda x: F(x, 2)), (_M,)
    yield (lambda F: lambda x: F(x, _I)), (_V,)
    yield same, (_V, _V2, _V[::-1])
    yield same, (_IV,)
    yield same, (_IV, _IV2)


def _sym(a):
    return (a + a.T) / 2


def _special():
    """Probes for functions the generic candidates do not suit, by qualified name: ``(make, args)`` or
    ``(make, args, complex_args)``, where ``make(module)`` builds the call from the module the function lives
    in (chainrule's, or the reference library's for comparison)."""
    return {
        "numpy.reshape": (lambda m: lambda x: m.reshape(x, (3, 1)), (_V,)),
        "numpy.broadcast_to": (lambda m: lambda x: m.broadcast_to(x, (2, 3)), (_V,)),
        "numpy.tile": (lambda m: lambda x: m.tile(x, 2), (_V,)),
        "numpy.repeat": (lambda m: lambda x: m.repeat(x, 2), (_V,)),
        "numpy.roll": (lambda m: lambda x: m.roll(x, 1), (_V,)),
        "numpy.split": (lambda m: lambda x: m.split(x, 3), (_V,)),
        "numpy.array_split": (lambda m: lambda x: m.array_split(x, 2), (_V,)),
        "numpy.hsplit": (lambda m: lambda x: m.hsplit(x, 3), (_V,)),
        "numpy.vsplit": (lambda m: lambda x: m.vsplit(x, 3), (_M,)),
        "numpy.dsplit": (lambda m: lambda x: m.dsplit(m.reshape(x, (1, 1, 3)), 3), (_V,)),
        "numpy.take": (lambda m: lambda x: m.take(x, _I), (_V,)),
        "numpy.take_along_axis": (lambda m: lambda x: m.take_along_axis(x, _I, 0), (_V,)),
        "numpy.choose": (lambda m: lambda x, y: m.choose(np.array([0, 1, 0]), [x, y]), (_V, _V2)),
        "numpy.compress": (lambda m: lambda x: m.compress([True, False, True], x), (_V,)),
        "numpy.extract": (lambda m: lambda x: m.extract([True, False, True], x), (_V,)),
        "numpy.delete": (lambda m: lambda x: m.delete(x, 1), (_V,)),
        "numpy.insert": (lambda m: lambda x, v: m.insert(x, 1, v), (_V, _V2[:1])),
        "numpy.pad": (lambda m: lambda x: m.pad(x, 1, mode="edge"), (_V,)),
        "numpy.einsum": (lambda m: lambda a, b: m.einsum("ij,j->i", a, b), (_M, _V)),
        "numpy.where": (lambda m: lambda x, y: m.where(np.array([True, False, True]), x, y), (_V, _V2)),
        "numpy.select": (lambda m: lambda x, y: m.select([x > 0.5, x > 0.3], [x, y], 0.0), (_V, _V2)),
        "numpy.piecewise": (lambda m: lambda x: m.piecewise(x, [x < 0.5], [lambda v: v * v, lambda v: v]), (_V,)),
        "numpy.interp": (lambda m: lambda x, fp: m.interp(x, np.array([0.0, 0.5, 1.0]), fp), (_V, _V2),
                         (_V, _V2 + 0.3j)),
        "numpy.linspace": (lambda m: lambda a, b: m.linspace(a, b, 4), (_V, _V2 + 1)),
        "numpy.logspace": (lambda m: lambda a, b: m.logspace(a, b, 4), (_V, _V2 + 1)),
        "numpy.geomspace": (lambda m: lambda a, b: m.geomspace(a, b, 4), (_V, _V2 + 1)),
        "numpy.full": (lambda m: lambda v: m.full((2, 3), v), (_V,)),
        "numpy.full_like": (lambda m: lambda a, v: m.full_like(a, v), (_M, _V)),
        "numpy.apply_along_axis": (lambda m: lambda x: m.apply_along_axis(lambda r: (r ** 2).sum(), 0, x), (_M,)),
        "numpy.apply_over_axes": (lambda m: lambda x: m.apply_over_axes(m.sum, x, [0]), (_M,)),
        "numpy.astype": (lambda m: lambda x: m.astype(x, np.float32), (_V,)),
        "numpy.clip": (lambda m: lambda x: m.clip(x, 0.4, 0.7), (_V,)),
        "numpy.index_update": (lambda m: lambda x, y: m.index_update(x, 1, y[0]), (_V, _V2)),
        "numpy.index_add": (lambda m: lambda x, y: m.index_add(x, _I, y), (_V, _V2)),
        "numpy.getitem": (lambda m: lambda x: m.getitem(x, _I), (_V,)),
        "numpy.at": (lambda m: lambda x, y: m.at(x)[1].set(y[0]), (_V, _V2)),
        "numpy.integer_pow": (lambda m: lambda x: m.integer_pow(x, 3), (_V,)),
        "numpy.ldexp": (lambda m: lambda x: m.ldexp(x, _I), (_V,)),
        "numpy.bincount": (lambda m: lambda w: m.bincount(_I, w), (_V,)),
        "numpy.concatenate": (lambda m: lambda x, y: m.concatenate([x, y]), (_V, _V2)),
        "numpy.concat": (lambda m: lambda x, y: m.concat([x, y]), (_V, _V2)),
        "numpy.stack": (lambda m: lambda x, y: m.stack([x, y]), (_V, _V2)),
        "numpy.hstack": (lambda m: lambda x, y: m.hstack([x, y]), (_V, _V2)),
        "numpy.vstack": (lambda m: lambda x, y: m.vstack([x, y]), (_V, _V2)),
        "numpy.row_stack": (lambda m: lambda x, y: m.vstack([x, y]), (_V, _V2)),
        "numpy.dstack": (lambda m: lambda x, y: m.dstack([x, y]), (_V, _V2)),
        "numpy.column_stack": (lambda m: lambda x, y: m.column_stack([x, y]), (_V, _V2)),
        "numpy.block": (lambda m: lambda x, y: m.block([x, y]), (_V, _V2)),
        "numpy.broadcast_arrays": (lambda m: lambda x, y: m.broadcast_arrays(x, y[:, None]), (_V, _V2)),
        "numpy.meshgrid": (lambda m: lambda x, y: m.meshgrid(x, y), (_V, _V2)),
        "numpy.ix_": (lambda m: lambda: m.ix_(_I, _IV2), ()),
        "numpy.array": (lambda m: lambda x, y: m.array([x, y]), (_V, _V2)),
        "numpy.unstack": (lambda m: lambda x: m.unstack(x), (_M,)),
        "numpy.resize": (lambda m: lambda x: m.resize(x, (2, 3)), (_V,)),
        "numpy.moveaxis": (lambda m: lambda x: m.moveaxis(x, 0, 1), (_M2,)),
        "numpy.swapaxes": (lambda m: lambda x: m.swapaxes(x, 0, 1), (_M2,)),
        "numpy.rollaxis": (lambda m: lambda x: m.rollaxis(x, 1), (_M2,)),
        "numpy.expand_dims": (lambda m: lambda x: m.expand_dims(x, 0), (_V,)),
        "numpy.squeeze": (lambda m: lambda x: m.squeeze(m.reshape(x, (1, 3))), (_V,)),
        "numpy.tensordot": (lambda m: lambda a, b: m.tensordot(a, b, 1), (_M, _V)),
        "numpy.quantile": (lambda m: lambda x: m.quantile(x, 0.3), (_V,)),
        "numpy.percentile": (lambda m: lambda x: m.percentile(x, 30), (_V,)),
        "numpy.nanquantile": (lambda m: lambda x: m.nanquantile(x, 0.3), (_V,)),
        "numpy.nanpercentile": (lambda m: lambda x: m.nanpercentile(x, 30), (_V,)),
        "numpy.partition": (lambda m: lambda x: m.partition(x, 1), (_V,)),
        "numpy.argpartition": (lambda m: lambda x: m.argpartition(x, 1), (_V,)),
        "numpy.searchsorted": (lambda m: lambda x: m.searchsorted(np.array([0.0, 0.5, 1.0]), x), (_V,)),
        "numpy.digitize": (lambda m: lambda x: m.digitize(x, np.array([0.0, 0.5, 1.0])), (_V,)),
        "numpy.isin": (lambda m: lambda x: m.isin(x, _V2), (_V,)),
        "numpy.histogram": (lambda m: lambda x, w: m.histogram(x, 2, weights=w), (_V, _V2)),
        "numpy.histogram_bin_edges": (lambda m: lambda x: m.histogram_bin_edges(x, 2), (_V,)),
        "numpy.histogramdd": (lambda m: lambda x: m.histogramdd(x, 2)[1], (_M,)),
        "numpy.histogram2d": (lambda m: lambda x, y: m.histogram2d(x, y, 2)[1:], (_V, _V2)),
        "numpy.polyint": (lambda m: lambda p: m.polyint(p), (_V,)),
        "numpy.polyder": (lambda m: lambda p: m.polyder(p), (_V,)),
        "numpy.polyfit": (lambda m: lambda x, y: m.polyfit(x, y, 1), (_V, _V2)),
        "numpy.roots": (lambda m: lambda p: m.sort(m.real(m.roots(p))), (np.array([1.0, -3.0, 2.0]),)),
        "numpy.vander": (lambda m: lambda x: m.vander(x), (_V,)),
        "numpy.cross": (lambda m: lambda a, b: m.cross(a, b), (_V, _V2)),
        "numpy.fmod": (lambda m: lambda x, y: m.fmod(x, y + 0.2), (_V, _V2)),
        "numpy.remainder": (lambda m: lambda x, y: m.remainder(x, y + 0.2), (_V, _V2)),
        "numpy.mod": (lambda m: lambda x, y: m.mod(x, y + 0.2), (_V, _V2)),
        "numpy.divmod": (lambda m: lambda x, y: m.divmod(x, y + 0.2)[1], (_V, _V2)),
        "numpy.unique": (lambda m: lambda x: m.unique(x), (_V,)),
        "numpy.unique_values": (lambda m: lambda x: m.sort(m.unique_values(x)), (_V,)),
        "numpy.intersect1d": (lambda m: lambda x: m.intersect1d(x, x[:2]), (_V,)),
        "numpy.unpackbits": (lambda m: lambda x: m.unpackbits(x), (np.array([3, 5], np.uint8),)),
        "numpy.packbits": (lambda m: lambda x: m.packbits(x), (np.array([1, 0, 1], np.uint8),)),
        "numpy.linalg.eigvals": (lambda m: lambda a: m.sort(m.linalg.eigvals(a)), (_M2,)),
        "numpy.lexsort": (lambda m: lambda x, y: m.lexsort((x, y)), (_V, _V2)),
        "numpy.ravel_multi_index": (lambda m: lambda: m.ravel_multi_index((_I, _I), (3, 3)), ()),
        "numpy.unravel_index": (lambda m: lambda x: m.unravel_index(x, (3, 3)), (_IV,)),
        "numpy.stop_gradient": (lambda m: lambda x: m.stop_gradient(x), (_V,)),
        "numpy.linalg.matrix_power": (lambda m: lambda a: m.linalg.matrix_power(a, 3), (_M,)),
        "numpy.linalg.multi_dot": (lambda m: lambda a, b: m.linalg.multi_dot([a, b, a]), (_M, _M2)),
        "numpy.linalg.tensorsolve": (lambda m: lambda a, b: m.linalg.tensorsolve(a, b), (_M, _V)),
        "numpy.linalg.tensorinv": (lambda m: lambda a: m.linalg.tensorinv(a, ind=1), (_M,)),
        "numpy.linalg.tensordot": (lambda m: lambda a, b: m.linalg.tensordot(a, b, 1), (_M, _V)),
        # Spectral functions: symmetric inputs for the Hermitian ones, and gauge-free outputs (eigenvectors and
        # singular vectors are defined up to a sign or phase per column, which abs removes).
        "numpy.linalg.eigh": (lambda m: lambda a: (lambda r: (r[0], m.abs(r[1])))(m.linalg.eigh(_sym(a))), (_M,)),
        "numpy.linalg.eigvalsh": (lambda m: lambda a: m.linalg.eigvalsh(_sym(a)), (_M,)),
        "numpy.linalg.cholesky": (lambda m: lambda a: m.linalg.cholesky(_sym(a)), (_M,)),
        "numpy.linalg.eig": (lambda m: lambda a: (lambda r: (r[0], m.abs(r[1])))(m.linalg.eig(a)), (_M2,)),
        "numpy.linalg.svd": (lambda m: lambda a: (lambda r: (m.abs(r[0]), r[1], m.abs(r[2])))(m.linalg.svd(a)),
                             (_M2,)),
        "numpy.fft.fftfreq": (lambda m: lambda: m.fft.fftfreq(4), ()),
        "numpy.fft.rfftfreq": (lambda m: lambda: m.fft.rfftfreq(4), ()),
        "scipy.special.polygamma": (lambda m: lambda x: m.polygamma(1, x), (_VBIG,)),
        "scipy.special.multigammaln": (lambda m: lambda x: m.multigammaln(x + 2, 2), (_V,)),
        "scipy.special.jn": (lambda m: lambda x: m.jn(1, x), (_V,)),
        "scipy.special.yn": (lambda m: lambda x: m.yn(1, x), (_V,)),
        "scipy.special.jv": (lambda m: lambda x: m.jv(1.5, x), (_V,)),
        "scipy.special.yv": (lambda m: lambda x: m.yv(1.5, x), (_V,)),
        "scipy.special.iv": (lambda m: lambda x: m.iv(1.5, x), (_V,)),
        "scipy.special.ive": (lambda m: lambda x: m.ive(1.5, x), (_V,)),
        "scipy.special.betainc": (lambda m: lambda a, b, x: m.betainc(a + 1, b + 1, x), (_V, _V2, _V[::-1])),
        "scipy.special.stdtr": (lambda m: lambda t: m.stdtr(3.0, t), (_V,)),
        "scipy.linalg.eigh": (lambda m: lambda a: (lambda r: (r[0], m.abs(r[1]) if hasattr(m, "abs") else
                                                              abs(r[1])))(m.eigh(_sym(a))), (_M,)),
        "scipy.linalg.cholesky": (lambda m: lambda a: m.cholesky(_sym(a)), (_M,)),
        "scipy.linalg.cho_factor": (lambda m: lambda a: m.cho_factor(_sym(a))[0], (_M,)),
        "scipy.linalg.cho_solve": (lambda m: lambda a, b: m.cho_solve(m.cho_factor(_sym(a)), b), (_M, _V)),
        "scipy.linalg.lu_solve": (lambda m: lambda a, b: m.lu_solve(m.lu_factor(a), b), (_M, _V)),
        "scipy.linalg.lu_factor": (lambda m: lambda a: m.lu_factor(a)[0], (_M,)),
        "scipy.linalg.solve_banded": (lambda m: lambda ab, b: m.solve_banded((1, 1), ab, b), (_M, _V)),
        "scipy.linalg.solve_sylvester": (lambda m: lambda a, b, q: m.solve_sylvester(a, b, q), (_M, _M2 + 2, _M)),
        "scipy.integrate.odeint": (lambda m: lambda y0: m.odeint(lambda y, t: -y * t, y0, np.array([0.0, 0.5])),
                                   (_V,)),
        "scipy.stats.poisson.logpmf": (lambda m: lambda mu: m.poisson.logpmf(_I, mu + 1), (_V,)),
        "scipy.stats.poisson.pmf": (lambda m: lambda mu: m.poisson.pmf(_I, mu + 1), (_V,)),
        "scipy.stats.dirichlet.logpdf": (lambda m: lambda x, a: m.dirichlet.logpdf(x / x.sum(), a + 1), (_V, _V2)),
        "scipy.stats.dirichlet.pdf": (lambda m: lambda x, a: m.dirichlet.pdf(x / x.sum(), a + 1), (_V, _V2)),
    }


# Functions reported apart: they query or convert rather than compute on array data, or have no derivative
# by design.
_UTILITIES = {"can_cast", "result_type", "einsum_path", "may_share_memory", "shares_memory", "iscomplexobj",
              "isrealobj", "shape", "ndim", "size", "isnat", "empty_like", "common_type", "min_scalar_type",
              "isfortran", "require", "asarray_chkfinite", "copy", "asarray", "asanyarray", "ascontiguousarray",
              "asfortranarray", "array2string", "array_repr", "array_str", "diag_indices_from",
              "tril_indices_from", "triu_indices_from", "ix_"}


# ---------------------------------------------------------------------------------------------------------
# Probing
# ---------------------------------------------------------------------------------------------------------

def _leaves(tree):
    from .core.tree import tree_leaves
    return tree_leaves(tree)


def _clean_call(g, args):
    """``g(*args)`` with warnings as errors; None unless it runs and every numeric output is finite."""
    if g is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = g(*args)
    except Exception:
        return None
    leaves = [np.asarray(x) for x in _leaves(out)]
    if not leaves:
        return None
    for x in leaves:
        if x.dtype == object or (np.issubdtype(x.dtype, np.inexact) and not np.all(np.isfinite(x))):
            return None
    return out


def _kind(out):
    """'inexact' (something to differentiate), 'numeric' (integers, booleans) or 'other' (strings)."""
    kinds = {np.asarray(x).dtype.kind for x in _leaves(out)}
    if kinds & {"f", "c"}:
        return "inexact"
    return "numeric" if kinds <= {"i", "u", "b"} else "other"


def _quiet(fn, *a):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a)


def _derivative(check, g, args):
    try:
        _quiet(check, g, args)
    except Exception:
        return "no"
    try:
        if _is_zero_derivative(g, args):
            return "zero"
    except Exception:
        pass
    return "yes"


def _is_zero_derivative(g, args):
    from .transforms import jvp
    rng = np.random.default_rng(7)
    tangents = tuple(rng.standard_normal(np.shape(a)).astype(np.asarray(a).dtype) for a in args)
    _, t = _quiet(jvp, g, args, tangents)
    return all(np.all(np.asarray(x) == 0) for x in _leaves(t))


def _second(a):
    a = np.asarray(a)
    return a * 1.01 + 0.003 if np.issubdtype(a.dtype, np.inexact) else a + 1


def _batch(g, args):
    from .interpreters import batching
    from .testing import check_vmap
    if not args:
        return "n/a"
    stacked = tuple(np.stack([np.asarray(a), _second(a)]) for a in args)
    saved = batching._warned
    batching._warned = set()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_vmap(g, stacked, atol=1e-8, rtol=1e-8)
        fell_back = any("has no batch rule" in str(w.message) for w in caught)
    except NotImplementedError as e:
        return "ragged" if "depends on the values" in str(e) else "no"
    except Exception:
        return "no"
    finally:
        batching._warned = saved
    return "loop" if fell_back else "yes"


def _complexify(a):
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.floating):
        return a
    p = np.cos(np.arange(a.size) * 1.3).reshape(a.shape) * 0.2
    if a.ndim == 2 and a.shape[0] == a.shape[1]:
        p = p - p.T  # keeps a symmetric matrix Hermitian
    return a + 1j * p


def _same(got, want):
    g, w = _leaves(got), _leaves(want)
    if len(g) != len(w):
        return False
    return all(np.shape(a) == np.shape(b) and np.allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-9)
               for a, b in zip(g, w))


def _complex(g, ref, cargs):
    from .testing import check_jvp, check_vjp
    if not any(np.iscomplexobj(a) for a in cargs):
        return "n/a"
    want = _clean_call(ref, cargs)
    if ref is not None and want is None:
        return "n/a"  # the reference library rejects complex inputs here
    out = _clean_call(g, cargs)
    if out is None:
        return "no"
    if want is not None and not _same(out, want):
        return "no"
    if _kind(out) != "inexact":
        return "n/a"
    try:
        _quiet(check_vjp, g, cargs)
        _quiet(check_jvp, g, cargs)
    except Exception:
        return "no"
    return "yes"


def _candidates(qualname, f, ref_f, special, ours, theirs):
    """``(g, ref, args, complex_args)`` for each way to call the function, the special probe first."""
    if qualname in special:
        entry = special[qualname]
        make, args = entry[0], entry[1]
        cargs = entry[2] if len(entry) > 2 else tuple(_complexify(a) for a in args)
        try:
            ref = make(theirs) if theirs is not None else None
        except Exception:
            ref = None
        yield make(ours), ref, args, cargs
    for make, args in _generic():
        yield make(f), (make(ref_f) if ref_f is not None else None), args, tuple(_complexify(a) for a in args)


_ZERO_BY_DESIGN = {"numpy.stop_gradient"}


def _probe(qualname, f, ref_f, special, ours, theirs):
    for g, ref, args, cargs in _candidates(qualname, f, ref_f, special, ours, theirs):
        out = _clean_call(g, args)
        if out is None:
            continue
        if qualname in _ZERO_BY_DESIGN:
            zero = "zero" if _is_zero_derivative(g, args) else "no"
            return {"vjp": zero, "jvp": zero, "batch": _batch(g, args), "complex": "n/a"}
        kind = _kind(out)
        if kind != "inexact":
            return {"vjp": "n/a", "jvp": "n/a", "batch": _batch(g, args) if kind == "numeric" else "n/a",
                    "complex": "n/a"}
        from .testing import check_jvp, check_vjp
        return {"vjp": _derivative(check_vjp, g, args), "jvp": _derivative(check_jvp, g, args),
                "batch": _batch(g, args), "complex": _complex(g, ref, cargs)}
    return {"vjp": "-", "jvp": "-", "batch": "-", "complex": "-"}


def _modules(key):
    """``(chainrule module, reference module or None)`` for a key of ``_MODULES``; None if not importable."""
    mod_name, mirror = _MODULES[key]
    try:
        mod = importlib.import_module(mod_name)
    except ImportError:
        return None
    ref_name = mirror or "numpy"
    try:
        ref = importlib.import_module(ref_name)
    except ImportError:
        ref = None
    return mod, ref


def _functions(key, mod, real):
    """``{name: (function, reference function or None)}`` for the public functions of one chainrule module."""
    out = {}
    if key == "scipy.stats":
        for dist in getattr(mod, "__all__", []):
            sub = getattr(mod, dist, None)
            real_dist = getattr(real, dist, None)
            for name in sorted(dir(sub)):
                fn = getattr(sub, name)
                if _is_function(fn) and not name.startswith("_") and hasattr(real_dist, name) and \
                        getattr(fn, "__module__", "") == sub.__name__:
                    out[f"{dist}.{name}"] = (fn, getattr(real_dist, name))
        return out
    mirror = _MODULES[key][1]
    for name in sorted(dir(mod)):
        if name.startswith("_") or (key == "numpy" and name in _UTILITIES):
            continue
        fn = getattr(mod, name)
        if not _is_function(fn) or not getattr(fn, "__module__", "").startswith("chainrule"):
            continue
        if mirror is not None and not hasattr(real, name):
            continue
        out[name] = (fn, getattr(real, name, None) if real is not None else None)
    return out


def _is_function(fn):
    import types
    return isinstance(fn, (types.FunctionType, types.BuiltinFunctionType, np.ufunc)) or (
        callable(fn) and not isinstance(fn, type) and not isinstance(fn, types.ModuleType) and hasattr(fn, "__name__")
        and type(fn).__name__ != "Primitive")


def _top(key, mod, ref):
    """The module objects special probes are built from (NumPy's probes name submodules: ``m.linalg.det``)."""
    if key.startswith("numpy"):
        import chainrule.numpy as cnp
        return cnp, np
    return mod, ref


def coverage(modules=None, names=None):
    """``{"module.function": {"vjp": ..., "jvp": ..., "batch": ..., "complex": ...}}`` for every public function
    of the chainrule modules named in ``modules`` (default: all of them that import), found by probing.

    ``names`` restricts the probe to those function names. See the module docstring for the meaning of the
    entries.
    """
    special = _special()
    table = {}
    for key in (modules or list(_MODULES)):
        found = _modules(key)
        if found is None:
            continue
        mod, ref = found
        ours, theirs = _top(key, mod, ref)
        for name, (fn, ref_fn) in _functions(key, mod, ref).items():
            if names is not None and name not in names:
                continue
            table[f"{key}.{name}"] = _probe(f"{key}.{name}", fn, ref_fn, special, ours, theirs)
    return table


_IN_PLACE = {"copyto", "fill_diagonal", "place", "put", "put_along_axis", "putmask"}
# NumPy functions that take no array data (creation from shapes, dtypes, printing and I/O settings): chainrule.numpy
# hands them through unchanged.
_NO_ARRAY_DATA = {
    "arange", "empty", "eye", "identity", "ones", "zeros", "tri", "indices", "tril_indices", "triu_indices",
    "diag_indices", "mask_indices", "fromfunction", "frombuffer", "fromfile", "fromiter", "fromregex", "fromstring",
    "from_dlpack", "frompyfunc", "genfromtxt", "load", "loadtxt", "bartlett", "blackman", "hamming", "hanning",
    "kaiser", "base_repr", "binary_repr", "broadcast_shapes", "busday_count", "busday_offset", "is_busday",
    "datetime_as_string", "datetime_data", "format_float_positional", "format_float_scientific", "get_include",
    "get_printoptions", "set_printoptions", "printoptions", "getbufsize", "setbufsize", "geterr", "seterr",
    "geterrcall", "seterrcall", "info", "isdtype", "issubdtype", "isscalar", "iterable", "mintypecode",
    "promote_types", "typename", "show_config", "show_runtime", "test", "nested_iters", "asmatrix", "bmat",
}


def _missing_numpy():
    """``(array functions, in-place functions)`` of NumPy's namespace that ``chainrule.numpy`` does not implement
    (they reject traced values with a TypeError naming them); functions without array data are left out."""
    import types

    import chainrule.numpy as cnp
    own = vars(cnp)
    missing, in_place = [], []
    for name in sorted(dir(np)):
        if name.startswith("_") or name in own or name in _NO_ARRAY_DATA:
            continue
        f = getattr(np, name)
        if isinstance(f, (type, types.ModuleType)) or not callable(f):
            continue
        (in_place if name in _IN_PLACE else missing).append(name)
    return missing, in_place


_LEGEND = """\
Every public function of `chainrule.numpy` (and of `chainrule.numpy.linalg`, `chainrule.numpy.fft` and
`chainrule.scipy` where present), probed on small inputs by `chainrule.coverage()`:

- **vjp** / **jvp**: reverse / forward mode agrees with central differences (`zero`: the derivative is
  identically zero, as for `floor` and, by design, `stop_gradient`; `n/a`: no floating-point output, as for
  `argsort`).
- **batch**: `vmap` agrees with a loop, using a batching rule (`loop`: the engine's loop fallback; `ragged`: the
  result's shape depends on the values, as for `unique`, so `vmap` refuses it with an error saying so).
- **complex**: complex inputs give NumPy's/SciPy's result and correct derivatives in both modes (`n/a`: the
  reference library rejects complex inputs, or nothing to differentiate).
- `no`: it raised or disagreed; `-`: no probe input suits the function.

Regenerate with `python -m chainrule.coverage > docs/coverage.md` (tests/test_coverage.py fails when this file is
stale).
"""


def report(table=None):
    """The coverage table as Markdown (what ``python -m chainrule.coverage`` prints)."""
    table = coverage() if table is None else table
    lines = ["# chainrule coverage", "", _LEGEND]
    groups = {}
    for qual, row in table.items():
        mod = next(k for k in sorted(_MODULES, key=len, reverse=True) if qual.startswith(k + "."))
        groups.setdefault(mod, []).append((qual[len(mod) + 1:], row))
    cols = ("vjp", "jvp", "batch", "complex")
    lines.append("| module | functions | " + " | ".join(f"{c}: yes" for c in cols) + " |")
    lines.append("|---" * (2 + len(cols)) + "|")
    for mod in _MODULES:
        if mod not in groups:
            continue
        rows = [r for _, r in groups[mod]]
        counts = [sum(r[c] in ("yes", "zero") for r in rows) for c in cols]
        lines.append(f"| {mod} | {len(rows)} | " + " | ".join(map(str, counts)) + " |")
    for mod in _MODULES:
        if mod not in groups:
            continue
        lines += ["", f"## {mod}", "", "| function | vjp | jvp | batch | complex |", "|---|---|---|---|---|"]
        for name, row in groups[mod]:
            lines.append(f"| `{name}` | " + " | ".join(row[c] for c in cols) + " |")
    missing, in_place = _missing_numpy()
    lines += ["", "## NumPy functions not in chainrule.numpy", "",
              "Called with a traced value these raise a `TypeError` naming the function (never a result cut off from "
              "the derivative).", "", "- Not implemented: " + (", ".join(f"`{m}`" for m in missing) or "none"),
              "- Writing into an argument (traced values are immutable; use `index_update` / `x.at[idx].set`): "
              + ", ".join(f"`{m}`" for m in in_place),
              "- Without array data, handed through as NumPy's own: " + ", ".join(f"`{m}`" for m in
                                                                                 sorted(_NO_ARRAY_DATA)),
              "- Queries and conversions that work on traced values (not probed above): "
              + ", ".join(f"`{m}`" for m in sorted(_UTILITIES))]
    return "\n".join(lines) + "\n"


def main():
    import sys
    sys.stdout.write(report())


if __name__ == "__main__":
    main()


class _CallableModule(types.ModuleType):
    """Lets ``chainrule.coverage()`` call ``coverage()`` while ``chainrule.coverage`` stays this module."""

    def __call__(self, *args, **kwargs):
        return coverage(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
