"""Benchmark: what running a ``file.py:name`` factory in a child process costs (issue 12).

    .venv/bin/python benchmarks/factory_child.py                       # both factories, both ways
    .venv/bin/python benchmarks/factory_child.py fixtures/torch_models.py:convnet

The CLI converts a factory's model in a child interpreter
(:func:`modelmap.converters.factory.convert_in_child`) so that ``os._exit``, ``os.abort``,
signals and ``atexit`` output cannot reach the command. Each way runs in a fresh process of
its own; reported are wall time, CPU time (this process and its children: load on a shared
machine inflates wall time, not CPU time) and peak resident memory of parent and child.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

TINY = '''
def make():
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
'''

ONE = """
import json, resource, sys, time
import modelmap
from modelmap.converters import ConvertOptions
from modelmap.converters.factory import convert_in_child
ref, how = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
model = convert_in_child(ref, ConvertOptions()) if how == "child" else ref
layers = len(modelmap.analyze(model).layers)
own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": time.perf_counter() - t0, "cpu": own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
                  "rss_parent": own.ru_maxrss // 1024, "rss_child": kids.ru_maxrss // 1024, "layers": layers}))
"""


def measure(ref: str, how: str) -> dict:
    out = subprocess.run([sys.executable, "-c", ONE, ref, how], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("refs", nargs="*")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tiny = Path(tmp) / "tiny.py"
        tiny.write_text(TINY)
        refs = a.refs or [f"{tiny}:make", "fixtures/torch_models.py:convnet"]
        print(f"{'factory':40s} {'way':10s} {'wall s':>7s} {'CPU s':>6s} {'parent MB':>9s} {'child MB':>8s}")
        for ref in refs:
            for how in ("in-process", "child"):
                r = measure(ref, how)
                print(f"{Path(ref).name:40s} {how:10s} {r['wall']:7.2f} {r['cpu']:6.2f} {r['rss_parent']:9d} {r['rss_child']:8d}")


if __name__ == "__main__":
    main()
