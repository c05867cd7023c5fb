"""``save`` / ``load``: checkpoints of state dicts in a format that never executes code when read.

Invariant: a checkpoint is a ZIP archive (a NumPy ``.npz``, so ``numpy.load`` can read its arrays too) holding
``arr_<i>.npy`` entries for the arrays and one ``__chainrule__.json`` entry describing the structure: nested
dicts (with their key order and key types), OrderedDicts, lists, tuples, None, bools, ints, floats (stored
exactly, as hex), complex numbers, strings, bytes, NumPy scalars, arrays and Tensors (with ``requires_grad``). No
pickle is written or read (``allow_pickle=False``), so loading a file from anywhere is safe.

``save`` encodes everything before touching the file system, writes to a temporary file in the target's
directory, flushes it to disk and renames it over the target (``os.replace``), so the old checkpoint stays intact
if anything fails midway. ``load`` reads and checks every entry (the ZIP CRC-32 of each, the structure against
the entries) before returning, so a truncated or corrupted file raises ``ValueError`` naming the path and never
yields a partial result. An object shared between two places of the tree (tied weights) is stored once and comes
back shared.
"""
import base64
import collections
import json
import os
import secrets
import zipfile

import numpy as np

__all__ = ["save", "load"]

_MANIFEST = "__chainrule__.json"
_FORMAT = "chainrule.checkpoint"
_VERSION = 1


# ---------------------------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------------------------

def _tensor_types():
    from .tensor import Tensor
    try:
        from .nn import Parameter
    except Exception:  # chainrule.nn absent or not importable: no Parameter to special-case
        Parameter = None
    return Tensor, Parameter


class _Encoder:
    def __init__(self):
        self.arrays = []
        self.memo = {}  # id(obj) -> (node, obj); obj kept alive so ids stay unique while encoding
        self.Tensor, self.Parameter = _tensor_types()

    def array_ref(self, arr):
        from .core.backend import namespace
        if namespace(arr) is not np:  # a GPU array: bring it to the host
            arr = arr.get()
        arr = np.asarray(arr)
        if arr.dtype.hasobject:
            raise TypeError(f"chainrule.save: arrays of dtype {arr.dtype} can't be saved without pickle")
        self.arrays.append(arr)
        return len(self.arrays) - 1

    def encode(self, obj, where):
        memo = self.memo.get(id(obj))
        if memo is not None:
            return {"t": "same", "id": memo[0]}
        t = type(obj)
        if obj is None:
            return {"t": "none"}
        if t is bool:
            return {"t": "bool", "v": obj}
        if t is int:
            return {"t": "int", "v": str(obj)}
        if t is float:
            return {"t": "float", "v": obj.hex()}
        if t is complex:
            return {"t": "complex", "re": obj.real.hex(), "im": obj.imag.hex()}
        if t is str:
            return {"t": "str", "v": obj}
        if t is bytes:
            return {"t": "bytes", "v": base64.b64encode(obj).decode("ascii")}
        if isinstance(obj, self.Tensor):
            kind = "parameter" if self.Parameter is not None and isinstance(obj, self.Parameter) else "tensor"
            node = {"t": kind, "ref": self.array_ref(obj.data), "requires_grad": bool(obj.requires_grad)}
            return self._remember(obj, node)
        if isinstance(obj, np.ndarray) or _is_gpu_array(obj):
            return self._remember(obj, {"t": "array", "ref": self.array_ref(obj)})
        if isinstance(obj, np.generic):
            return {"t": "npscalar", "ref": self.array_ref(np.asarray(obj))}
        if isinstance(obj, dict):
            kind = "odict" if isinstance(obj, collections.OrderedDict) else "dict"
            items = []
            for k, v in obj.items():
                items.append([self.encode_key(k, where), self.encode(v, f"{where}[{k!r}]")])
            return {"t": kind, "items": items}
        if t is list or t is tuple:
            return {"t": t.__name__, "items": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        raise TypeError(f"chainrule.save: can't save an object of type {t.__module__}.{t.__qualname__} at {where}; "
                        f"supported are dicts, lists, tuples, None, bool, int, float, complex, str, bytes, NumPy "
                        f"arrays and scalars, and Tensors (save a module's state_dict(), not the module)")

    def encode_key(self, k, where):
        if k is None or type(k) in (bool, int, float, str):
            return self.encode(k, where)
        if type(k) is tuple:
            return {"t": "tuple", "items": [self.encode_key(x, where) for x in k]}
        raise TypeError(f"chainrule.save: dict key {k!r} of type {type(k).__name__} at {where} can't be saved; "
                        f"keys must be str, int, float, bool, None or tuples of these")

    def _remember(self, obj, node):
        node["id"] = len(self.memo)
        self.memo[id(obj)] = (node["id"], obj)
        return node


def _is_gpu_array(obj):
    from .core.backend import is_array, namespace
    return is_array(obj) and namespace(obj) is not np


# ---------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------

def _write_entry(zf, name, arr):
    with zf.open(name, "w", force_zip64=True) as f:
        np.lib.format.write_array(f, arr, allow_pickle=False)


def _write_archive(fileobj, manifest, arrays):
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for i, arr in enumerate(arrays):
            _write_entry(zf, f"arr_{i}.npy", arr)
        zf.writestr(_MANIFEST, manifest)


def save(obj, f):
    """Save ``obj`` (a state dict: nested dicts/lists/tuples of arrays, Tensors, numbers, strings, None) to the
    path or binary file ``f``. Writing to a path is atomic: a crash midway leaves any previous file intact.

    >>> import os, tempfile, chainrule as cr
    >>> from chainrule.serialization import save, load
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
    >>> save({"w": cr.tensor([1.0, 2.0]), "step": 3, "betas": (0.9, 0.999)}, path)
    >>> load(path)
    {'w': tensor([1., 2.]), 'step': 3, 'betas': (0.9, 0.999)}
    """
    enc = _Encoder()
    tree = enc.encode(obj, "the top level")
    manifest = json.dumps({"format": _FORMAT, "version": _VERSION, "num_arrays": len(enc.arrays), "tree": tree},
                          separators=(",", ":"))
    if hasattr(f, "write"):
        _write_archive(f, manifest, enc.arrays)
        return
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            _write_archive(out, manifest, enc.arrays)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _fsync_dir(directory):
    """Make the rename durable (POSIX); a no-op where directories can't be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------------

class _Corrupt(Exception):
    pass


def _read_archive(fileobj):
    with zipfile.ZipFile(fileobj, "r") as zf:
        names = set(zf.namelist())
        if _MANIFEST not in names:
            raise _Corrupt(f"it has no {_MANIFEST} entry (not a chainrule checkpoint)")
        manifest = json.loads(zf.read(_MANIFEST).decode("utf-8"))
        if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
            raise _Corrupt("its manifest is not a chainrule checkpoint manifest")
        if manifest.get("version") != _VERSION:
            raise _Corrupt(f"it has format version {manifest.get('version')!r}; this chainrule reads version "
                           f"{_VERSION}")
        n = manifest.get("num_arrays")
        expected = {f"arr_{i}.npy" for i in range(n)} if isinstance(n, int) and n >= 0 else None
        if expected is None or names != expected | {_MANIFEST}:
            raise _Corrupt("its entries do not match its manifest")
        arrays = []
        for i in range(n):
            with zf.open(f"arr_{i}.npy") as fp:
                arr = np.lib.format.read_array(fp, allow_pickle=False)
                if fp.read(1):  # also reaches the end of the entry, which checks its CRC-32
                    raise _Corrupt(f"entry arr_{i}.npy has trailing bytes")
            arrays.append(arr)
    return manifest["tree"], arrays


class _Decoder:
    def __init__(self, arrays):
        self.arrays = arrays
        self.memo = {}
        self.Tensor, self.Parameter = _tensor_types()

    def array(self, node):
        ref = node["ref"]
        if type(ref) is not int or not 0 <= ref < len(self.arrays):
            raise _Corrupt(f"array reference {ref!r} out of range")
        return self.arrays[ref]

    def decode(self, node):
        t = node["t"]
        if t == "none":
            return None
        if t == "bool":
            return _typed(node["v"], bool)
        if t == "int":
            return int(_typed(node["v"], str))
        if t == "float":
            return float.fromhex(_typed(node["v"], str))
        if t == "complex":
            return complex(float.fromhex(node["re"]), float.fromhex(node["im"]))
        if t == "str":
            return _typed(node["v"], str)
        if t == "bytes":
            return base64.b64decode(_typed(node["v"], str), validate=True)
        if t == "same":
            if node["id"] not in self.memo:
                raise _Corrupt(f"reference to unknown object {node['id']!r}")
            return self.memo[node["id"]]
        if t == "array":
            return self._remember(node, self.array(node))
        if t in ("tensor", "parameter"):
            cls = self.Parameter if t == "parameter" and self.Parameter is not None else self.Tensor
            out = self._make_tensor(cls, self.array(node), _typed(node["requires_grad"], bool))
            return self._remember(node, out)
        if t == "npscalar":
            arr = self.array(node)
            if arr.shape != ():
                raise _Corrupt("a NumPy scalar entry is not 0-d")
            return arr[()]
        if t in ("dict", "odict"):
            out = collections.OrderedDict() if t == "odict" else {}
            for k, v in _typed(node["items"], list):
                out[self.decode(k)] = self.decode(v)
            return out
        if t == "list":
            return [self.decode(v) for v in _typed(node["items"], list)]
        if t == "tuple":
            return tuple(self.decode(v) for v in _typed(node["items"], list))
        raise _Corrupt(f"unknown node type {t!r}")

    def _make_tensor(self, cls, arr, requires_grad):
        from .tensor import from_numpy
        if cls is self.Tensor:
            t = from_numpy(arr)
            if requires_grad:
                t.requires_grad_(True)
            return t
        try:
            return cls(from_numpy(arr), requires_grad=requires_grad)
        except TypeError:
            return cls(from_numpy(arr))

    def _remember(self, node, obj):
        if "id" in node:
            self.memo[node["id"]] = obj
        return obj


def _typed(v, t):
    if type(v) is not t:
        raise _Corrupt(f"expected a {t.__name__} in the manifest, got {type(v).__name__}")
    return v


def load(f, map_location=None, *, weights_only=True):
    """Load what ``save`` wrote to the path or binary file ``f``. Arrays come back as NumPy arrays and Tensors as
    Tensors, with their dtypes and shapes. ``map_location`` and ``weights_only`` are accepted for PyTorch
    compatibility and ignored: data stays on the CPU, and loading never runs code whatever ``weights_only`` says.

    A missing file raises ``FileNotFoundError``; a truncated, corrupted or foreign file raises ``ValueError``.

    >>> import io, numpy as np
    >>> from chainrule.serialization import save, load
    >>> buf = io.BytesIO()
    >>> save([np.arange(3, dtype=np.int16), None], buf)
    >>> _ = buf.seek(0)
    >>> load(buf)
    [array([0, 1, 2], dtype=int16), None]
    """
    name = repr(os.fspath(f)) if not hasattr(f, "read") else repr(getattr(f, "name", f))
    try:
        if hasattr(f, "read"):
            tree, arrays = _read_archive(f)
        else:
            with open(os.fspath(f), "rb") as fileobj:
                tree, arrays = _read_archive(fileobj)
        return _Decoder(arrays).decode(tree)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except _Corrupt as e:
        raise ValueError(f"chainrule.load: {name} is not a valid chainrule checkpoint: {e}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, KeyError, TypeError, IndexError,
            AttributeError, UnicodeDecodeError, RecursionError, OverflowError, RuntimeError, OSError) as e:
        raise ValueError(f"chainrule.load: {name} is truncated or corrupted ({type(e).__name__}: {e})") from e
