"""``file.py:make`` factories that misbehave: print, exit, abort, raise BaseExceptions."""

from __future__ import annotations

import random
from pathlib import Path

MODEL = '''
def _model():
    import onnx
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
'''

#: behaviour -> (code at import time, body of make())
BEHAVIOURS = {
    "prints": ("", "print('factory says hi'); print('{not json'); return _model()"),
    "prints_fd": ("import os", "os.write(1, b'raw bytes on fd 1\\n'); os.write(2, b'and on fd 2\\n'); return _model()"),
    "atexit_print": ("import atexit\natexit.register(lambda: print('atexit says hi {'))", "return _model()"),
    "atexit_fd": ("import atexit, os\natexit.register(lambda: os.write(1, b'atexit fd 1 {'))", "return _model()"),
    "exit0": ("import sys", "sys.exit(0)"),
    "exit3": ("import sys", "sys.exit(3)"),
    "exit_msg": ("import sys", "sys.exit('factory gives up')"),
    "exit_at_import": ("import sys\nsys.exit(0)", "return _model()"),
    "keyboard": ("", "raise KeyboardInterrupt"),
    "base_exception": ("class Odd(BaseException):\n    pass", "raise Odd('odd')"),
    "generator_exit": ("", "raise GeneratorExit"),
    "os_exit0": ("import os", "os._exit(0)"),
    "os_exit3": ("import os", "os._exit(3)"),
    "abort": ("import os", "os.abort()"),
    "kill_self": ("import os, signal", "os.kill(os.getpid(), signal.SIGTERM)"),
    "returns_none": ("", "return None"),
    "returns_triple": ("", "return (1, 2, 3)"),
    "returns_str": ("", "return 'model.onnx'"),
    "recursion": ("", "return make()"),
    "raises": ("", "raise ValueError('bad\\nmultiline\\nmessage')"),
    "import_error": ("import no_such_module_here", "return _model()"),
    "syntax": ("def (:", "return _model()"),
    "close_stdout": ("import sys", "sys.stdout.close(); return _model()"),
    "stderr_flood": ("import sys", "sys.stderr.write('x\\n' * 10000); return _model()"),
    "fine": ("", "return _model()"),
}


def factory_case(rng: random.Random, folder: Path) -> list[str]:
    behaviour = rng.choice(sorted(BEHAVIOURS))
    top, body = BEHAVIOURS[behaviour]
    (folder / "factory.py").write_text(f"{top}\n{MODEL}\n\ndef make():\n    {body}\n")
    ref = f"{folder / 'factory.py'}:make"
    return rng.choice([["analyze", ref, "--json"], ["draw", ref, "-o", str(folder / "out.svg")], ["analyze", ref]])
