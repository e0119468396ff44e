"""Inputs that are files of the wrong kind or archives that lie: FIFOs, devices, bombs, pickles."""

from __future__ import annotations

import functools
import json
import os
import random
import socket
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from .models import random_model


# --------------------------------------------------------------------------- external data
def external_data_case(rng: random.Random, folder: Path, kind: str | None = None) -> str:
    """A model whose first initializer lives in an external file, with a location that may escape
    (``kind``: which way; a random one when None)."""
    model = random_model(rng, layers=4)
    while not model.graph.initializer:
        model = random_model(rng, layers=4)
    t = model.graph.initializer[0]
    raw = numpy_helper.to_array(t).tobytes()
    outside = folder / "outside.bin"  # the model sits in a folder of its own, beside this file
    outside.write_bytes(raw)
    folder = folder / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(raw)
    kind = kind or rng.choice(["ok", "long", "dotdot", "absolute", "dev", "missing", "offset", "length", "symlink", "nul",
                               "empty", "dir", "fifo"])
    location, offset, length = "weights.bin", 0, len(raw)
    if kind == "long":
        location = "a" * rng.choice([300, 5000, 70_000])
    elif kind == "dotdot":
        location = f"../{outside.name}"
    elif kind == "absolute":
        location = str(outside)
    elif kind == "dev":
        location = "/dev/zero"
    elif kind == "missing":
        location = "nowhere.bin"
    elif kind == "offset":
        offset = rng.choice([10**12, -1, len(raw) + 1])
    elif kind == "length":
        length = rng.choice([2**40, 2**62, len(raw) * 2, -5])
    elif kind == "symlink":
        os.symlink(rng.choice([str(outside), "/dev/zero", "/etc/hostname"]), folder / "link.bin")
        location = "link.bin"
    elif kind == "nul":
        location = "weights.bin\x00.txt"
    elif kind == "empty":
        location = ""
    elif kind == "dir":
        location = "."
    elif kind == "fifo":
        os.mkfifo(folder / "pipe.bin")
        location = "pipe.bin"
    t.ClearField("raw_data")
    t.ClearField("float_data")
    t.data_location = onnx.TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
        e = t.external_data.add()
        e.key, e.value = key, value
    path = folder / "model.onnx"
    path.write_bytes(model.SerializeToString())
    return str(path)


# --------------------------------------------------------------------------- file kinds
def file_kind_case(rng: random.Random, folder: Path) -> str:
    ext = rng.choice([".onnx", ".onnx", ".keras", ".h5", ".pt2", ".py"])
    kind = rng.choice(["fifo", "zero", "urandom", "null", "dir", "empty", "sparse", "loop", "broken", "socket"])
    path = folder / f"x{ext}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind in ("zero", "urandom", "null"):
        os.symlink(f"/dev/{kind}", path)
    elif kind == "dir":
        path.mkdir()
    elif kind == "empty":
        path.touch()
    elif kind == "sparse":
        with open(path, "wb") as f:
            f.truncate(rng.choice([3 * 2**30, 2**40]))
    elif kind == "loop":
        os.symlink(path.name, path)
    elif kind == "broken":
        os.symlink("does-not-exist", path)
    else:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.bind(str(path))
        finally:
            s.close()
    return f"{path}:make" if ext == ".py" else str(path)


# --------------------------------------------------------------------------- zip archives
@functools.lru_cache(maxsize=4)
def _deflated(fill: bytes, size: int) -> tuple[bytes, int]:
    """``size`` bytes of ``fill`` repeated, raw-deflated, and their CRC-32 (made once per process)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = fill * (2**20 // len(fill))
    parts, crc, left = [], 0, size
    while left:
        piece = chunk[: min(left, len(chunk))]
        parts.append(comp.compress(piece))
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    parts.append(comp.flush())
    return b"".join(parts), crc


def bomb_zip(entries: list[tuple[str, bytes, int]]) -> bytes:
    """A zip (zip64 sizes) whose entries are (name, fill, size): highly compressed runs of ``fill``."""
    out, central = bytearray(), bytearray()
    for name, fill, size in entries:
        data, crc = _deflated(fill, size)
        fname = name.encode()
        extra = struct.pack("<HHQQ", 1, 16, size, len(data))
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(fname), len(extra))
        out += fname + extra + data
        cextra = struct.pack("<HHQQQ", 1, 24, size, len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 8, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(fname), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF)
        central += fname + cextra
    cd_offset = len(out)
    out += central
    n = len(entries)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, cd_offset + len(central), 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return bytes(out)


def _zip(entries: dict[str, bytes]) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


@functools.lru_cache(maxsize=1)
def _many_entries() -> bytes:
    return _zip({f"assets/{i}": b"" for i in range(60_000)} | {"config.json": b"{}"})


def _keras_config(layer: dict) -> bytes:
    return json.dumps({
        "module": "keras", "class_name": "Sequential", "registered_name": None,
        "config": {"name": "s", "layers": [{"module": "keras.layers", "class_name": "InputLayer",
                                              "config": {"batch_shape": [None, 3], "name": "in"}}, layer]},
    }).encode()


def archive_case(rng: random.Random, folder: Path) -> str:
    """A ``.keras`` (or ``.h5``) that is a zip bomb, a config bomb, a code payload or junk."""
    canary = str(folder / "CANARY")
    kind = rng.choice(["bomb_weights", "bomb_config", "entries", "not_zip", "truncated", "config_junk",
                       "os_system", "lambda", "traversal", "h5_junk"])
    meta = json.dumps({"keras_version": "3.15.0", "date_saved": "2026-01-01"}).encode()
    if kind == "bomb_weights":
        data = bomb_zip([("config.json", b" ", 10), ("metadata.json", b" ", 10), ("model.weights.h5", b"\0", 2**30)])
    elif kind == "bomb_config":
        data = bomb_zip([("config.json", b" ", 2**30), ("model.weights.h5", b"\0", 100)])
    elif kind == "entries":
        data = _many_entries()
    elif kind == "not_zip":
        data = os.urandom(rng.randrange(0, 4096))
    elif kind == "truncated":
        whole = _zip({"config.json": _keras_config({}), "metadata.json": meta})
        data = whole[: rng.randrange(len(whole))]
    elif kind == "config_junk":
        data = _zip({"config.json": rng.choice([b"{", b"[]", b"null", b"\xff\xfe", b'{"class_name": 5}',
                                                 b"[" * 100_000]), "metadata.json": meta})
    elif kind == "os_system":
        layer = {"module": "os", "class_name": "system", "config": f"touch {canary}", "registered_name": "system"}
        data = _zip({"config.json": _keras_config(layer), "metadata.json": meta})
    elif kind == "lambda":
        code = f"lambda x: __import__('os').system('touch {canary}')"
        layer = {"module": "keras.layers", "class_name": "Lambda",
                 "config": {"name": "l", "function": {"class_name": "__lambda__", "config": {"code": code}}}}
        data = _zip({"config.json": _keras_config(layer), "metadata.json": meta})
    elif kind == "traversal":
        data = _zip({"../../CANARY": b"x", "/tmp/CANARY-abs": b"x", "config.json": _keras_config({})})
    else:
        path = folder / "model.h5"
        path.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(rng.randrange(0, 2048)))
        return str(path)
    path = folder / "model.keras"
    path.write_bytes(data)
    return str(path)


# --------------------------------------------------------------------------- torch.export archives
@functools.lru_cache(maxsize=1)
def _base_pt2(folder: str) -> bytes:
    import torch

    path = Path(folder) / "base.pt2"
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
    torch.export.save(torch.export.export(model, (torch.zeros(1, 3),)), str(path))
    return path.read_bytes()


def pt2_case(rng: random.Random, folder: Path) -> str:
    """A ``.pt2`` whose pickled weights run code, or that is truncated, bit-flipped or a bomb."""
    import io
    import pickle

    canary = folder / "CANARY"
    base = _base_pt2(str(folder.parent))
    kind = rng.choice(["pickle", "truncated", "bitflip", "bomb", "junk"])
    if kind == "pickle":
        evil = pickle.dumps(_Evil(str(canary)))
        src, buf = zipfile.ZipFile(io.BytesIO(base)), io.BytesIO()
        with zipfile.ZipFile(buf, "w") as dst:
            (config_name,) = [n for n in src.namelist() if n.endswith("model_weights_config.json")]
            config = json.loads(src.read(config_name))
            first = next(iter(config["config"].values()))
            first["use_pickle"] = True
            for item in src.infolist():
                payload = src.read(item.filename)
                if item.filename == config_name:
                    payload = json.dumps(config).encode()
                elif item.filename.endswith("/data/weights/" + first["path_name"]):
                    payload = evil
                dst.writestr(item, payload)
        data = buf.getvalue()
    elif kind == "truncated":
        data = base[: rng.randrange(len(base))]
    elif kind == "bitflip":
        arr = bytearray(base)
        for _ in range(rng.choice([1, 4, 16])):
            arr[rng.randrange(len(arr))] = rng.randrange(256)
        data = bytes(arr)
    elif kind == "bomb":
        data = bomb_zip([("archive/data/weights/weight_0", b"\0", 2**30), ("archive/version", b"1", 1)])
    else:
        data = np.random.default_rng(rng.randrange(2**32)).bytes(rng.randrange(1, 8192))
    path = folder / "model.pt2"
    path.write_bytes(data)
    return str(path)


class _Evil:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.path}",))
