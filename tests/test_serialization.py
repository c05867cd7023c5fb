"""chainrule.save / chainrule.load: exact round trips, no code execution, clear errors, atomic writes."""
import collections
import io
import json
import os
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import serialization
from chainrule.serialization import load, save

DTYPES = [np.float16, np.float32, np.float64, np.complex64, np.complex128, np.int8, np.int16, np.int32, np.int64,
          np.uint8, np.uint16, np.uint32, np.uint64, np.bool_]


def _roundtrip(obj, tmp_path, name="ckpt.npz"):
    path = tmp_path / name
    save(obj, path)
    return load(path)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (1,), (3, 4), (2, 0, 5), (2, 3, 1, 2)])
def test_arrays_roundtrip_exactly(dtype, shape, tmp_path):
    rng = np.random.default_rng(0)
    a = np.asarray(rng.standard_normal(shape) * 100).astype(dtype)
    back = _roundtrip({"a": a}, tmp_path)["a"]
    assert type(back) is np.ndarray and back.dtype == a.dtype and back.shape == a.shape
    np.testing.assert_array_equal(back, a)
    assert back.flags.writeable


def test_special_values_and_layouts(tmp_path):
    a = np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, np.finfo(np.float64).max])
    f = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    view = np.arange(20, dtype=np.int32)[::3]
    t = np.arange(6.0).reshape(2, 3).T
    back = _roundtrip([a, f, view, t], tmp_path)
    assert np.array_equal(back[0], a, equal_nan=True) and np.signbit(back[0][3])
    for x, y in zip(back[1:], [f, view, t]):
        np.testing.assert_array_equal(x, y)
    assert back[1].flags.f_contiguous


def test_python_values_and_containers(tmp_path):
    obj = collections.OrderedDict([
        ("none", None), ("t", True), ("f", False), ("int", 2 ** 70), ("neg", -3), ("float", 0.1), ("nan", float("nan")),
        ("inf", -float("inf")), ("complex", 1.5 - 2j), ("str", "héllo\n"), ("bytes", b"\x00\xff"),
        ("tuple", (1, (2.0, "x"), [])), ("list", [None, [1, 2], {}]),
        ("int_keys", {3: "a", 1: "b", (1, "x"): "tuple key", None: 0, 2.5: "float key", False: "bool key"}),
        ("npscalars", [np.float32(1.25), np.int64(-7), np.bool_(True), np.complex64(1j)]),
    ])
    back = _roundtrip(obj, tmp_path)
    assert type(back) is collections.OrderedDict and list(back) == list(obj)
    for k, v in obj.items():
        if k == "nan":
            assert isinstance(back[k], float) and np.isnan(back[k])
        elif k == "npscalars":
            for x, y in zip(back[k], v):
                assert type(x) is type(y) and x == y
        else:
            assert back[k] == v and type(back[k]) is type(v), k
    assert list(back["int_keys"]) == [3, 1, (1, "x"), None, 2.5, False]  # insertion order and key types kept
    assert [type(k) for k in back["int_keys"]][-1] is bool  # False stays False, not 0
    assert type(back["tuple"][1]) is tuple and type(back["list"][1]) is list


def test_tensors_come_back_as_tensors(tmp_path):
    w = cr.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    b = cr.tensor(np.array([1, 2], dtype=np.int64))
    back = _roundtrip({"w": w, "b": b}, tmp_path)
    assert isinstance(back["w"], cr.Tensor) and back["w"].requires_grad and back["w"].is_leaf
    assert back["w"].dtype == np.float32 and back["w"].shape == (2, 3)
    np.testing.assert_array_equal(back["w"].data, w.data)
    assert isinstance(back["b"], cr.Tensor) and not back["b"].requires_grad and back["b"].dtype == np.int64


def test_parameters_come_back_as_parameters(tmp_path):
    nn = pytest.importorskip("chainrule.nn")
    if not hasattr(nn, "Parameter"):
        pytest.skip("chainrule.nn.Parameter not available")
    p = nn.Parameter(cr.tensor(np.arange(3, dtype=np.float32)))
    back = _roundtrip({"p": p}, tmp_path)["p"]
    assert type(back) is nn.Parameter and back.requires_grad and back.dtype == np.float32
    np.testing.assert_array_equal(back.data, p.data)


def test_shared_objects_stay_shared(tmp_path):
    a = np.ones(3)
    t = cr.tensor([1.0, 2.0])
    back = _roundtrip({"x": a, "y": [a, t], "z": t}, tmp_path)
    assert back["x"] is back["y"][0] and back["z"] is back["y"][1]
    with zipfile.ZipFile(tmp_path / "ckpt.npz") as zf:
        assert sorted(zf.namelist()) == ["__chainrule__.json", "arr_0.npy", "arr_1.npy"]  # each stored once


def test_numpy_can_read_the_arrays_without_pickle(tmp_path):
    save({"w": np.arange(4.0)}, tmp_path / "c.npz")
    with np.load(tmp_path / "c.npz", allow_pickle=False) as z:
        np.testing.assert_array_equal(z["arr_0"], np.arange(4.0))


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    save({"a": np.arange(3)}, buf)
    buf.seek(0)
    np.testing.assert_array_equal(load(buf)["a"], np.arange(3))


def test_model_and_optimizer_state_dicts(tmp_path):
    w = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = cr.optim.Adam([w], lr=0.1)
    w.grad = cr.tensor(np.ones(3, np.float32))
    opt.step()
    back = _roundtrip({"model": collections.OrderedDict(weight=w.detach()), "optim": opt.state_dict()}, tmp_path)
    st = back["optim"]["state"][0]
    assert st["step"] == 1 and isinstance(st["exp_avg"], cr.Tensor) and st["exp_avg"].dtype == np.float32
    assert back["optim"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert list(back["optim"]["state"]) == [0]


# ---------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.npz")


def test_unsupported_objects_are_refused_before_writing(tmp_path):
    path = tmp_path / "c.npz"

    class Thing:
        pass

    with pytest.raises(TypeError, match=r"can't save an object of type .*Thing at the top level\['a'\]\[1\]"):
        save({"a": [1, Thing()]}, path)
    with pytest.raises(TypeError, match="arrays of dtype object can't be saved without pickle"):
        save(np.array([1, "x"], dtype=object), path)
    with pytest.raises(TypeError, match="dict key .* can't be saved"):
        save({frozenset(): 1}, path)
    assert not path.exists() and os.listdir(tmp_path) == []


@pytest.mark.parametrize("cut", [0, 10, 100, -200, -22, -1])
def test_truncated_file(cut, tmp_path):
    path = tmp_path / "c.npz"
    save({"w": np.arange(100.0), "meta": {"epoch": 3}}, path)
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut else b"")
    with pytest.raises(ValueError, match=r"chainrule.load: '.*c\.npz' is (truncated or corrupted|not a valid)"):
        load(path)


def test_corrupted_array_bytes_are_detected(tmp_path):
    path = tmp_path / "c.npz"
    a = np.arange(1000.0)
    save({"w": a}, path)
    data = bytearray(path.read_bytes())
    offset = bytes(data).find(a[500:501].tobytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"c\.npz' is truncated or corrupted \(BadZipFile: Bad CRC-32"):
        load(path)


def test_foreign_files(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.ones(2))
    with pytest.raises(ValueError, match=r"plain\.npz' is not a valid chainrule checkpoint: it has no "
                                         r"__chainrule__\.json entry"):
        load(plain)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"text\.npz' is truncated or corrupted \(BadZipFile"):
        load(text)


def _archive(path, manifest, entries):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        zf.writestr("__chainrule__.json", json.dumps(manifest))


CALLED = []


class _Payload:
    def __reduce__(self):
        return (CALLED.append, ("code ran",))


def test_pickled_payload_is_never_executed(tmp_path):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([_Payload()], dtype=object), allow_pickle=True)
    path = tmp_path / "evil.npz"
    _archive(path, {"format": "chainrule.checkpoint", "version": 1, "num_arrays": 1,
                    "tree": {"t": "array", "ref": 0, "id": 0}}, {"arr_0.npy": buf.getvalue()})
    with pytest.raises(ValueError, match=r"evil\.npz' is truncated or corrupted \(ValueError: Object arrays cannot "
                                         r"be loaded when allow_pickle=False"):
        load(path)
    assert CALLED == []


@pytest.mark.parametrize("manifest,match", [
    ({"format": "other"}, "manifest is not a chainrule checkpoint manifest"),
    ({"format": "chainrule.checkpoint", "version": 99, "num_arrays": 0, "tree": {"t": "none"}},
     "format version 99"),
    ({"format": "chainrule.checkpoint", "version": 1, "num_arrays": 2, "tree": {"t": "none"}},
     "entries do not match its manifest"),
    ({"format": "chainrule.checkpoint", "version": 1, "num_arrays": 0, "tree": {"t": "array", "ref": 0}},
     "array reference 0 out of range"),
    ({"format": "chainrule.checkpoint", "version": 1, "num_arrays": 0, "tree": {"t": "pickle"}},
     "unknown node type 'pickle'"),
    ({"format": "chainrule.checkpoint", "version": 1, "num_arrays": 0, "tree": {"t": "int", "v": 3}},
     "expected a str in the manifest"),
    ({"format": "chainrule.checkpoint", "version": 1, "num_arrays": 0, "tree": {"t": "list"}},
     r"truncated or corrupted \(KeyError"),
])
def test_malformed_manifests(manifest, match, tmp_path):
    path = tmp_path / "m.npz"
    _archive(path, manifest, {})
    with pytest.raises(ValueError, match=match):
        load(path)


# ---------------------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------------------

def test_crash_midway_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    save({"version": 1, "w": np.zeros(10)}, path)
    before = path.read_bytes()
    real = serialization._write_entry
    calls = []

    def failing(zf, name, arr):
        calls.append(name)
        if len(calls) == 2:  # the second array: write part of it, then fail
            with zf.open(name, "w") as f:
                f.write(b"\x93NUMPY partial")
            raise OSError("disk full")
        real(zf, name, arr)

    monkeypatch.setattr(serialization, "_write_entry", failing)
    with pytest.raises(OSError, match="disk full"):
        save({"version": 2, "w": np.ones(10), "b": np.ones(3)}, path)
    assert calls == ["arr_0.npy", "arr_1.npy"]
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind
    monkeypatch.setattr(serialization, "_write_entry", real)
    assert load(path)["version"] == 1


def test_interrupt_midway_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "new.npz"

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization, "_write_entry", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save({"w": np.ones(2)}, path)
    assert os.listdir(tmp_path) == []


def test_overwrite_replaces_content_and_keeps_default_permissions(tmp_path):
    path = tmp_path / "c.npz"
    save({"v": 1}, path)
    save({"v": 2}, path)
    assert load(path) == {"v": 2}
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert os.listdir(tmp_path) == ["c.npz"]
