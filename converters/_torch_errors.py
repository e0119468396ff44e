"""Why a PyTorch exporter failed, in one line: the failing op where the message names one."""

from __future__ import annotations

import re

from modelmap._errors import one_line

_REASONS = (
    (re.compile(r"No ONNX function found for <OpOverload\(op='([^']+)'"), "no ONNX translation for {0}"),
    (re.compile(r"Exporting the operator '([^']+)' to ONNX opset version (\d+) is not supported"),
     "no ONNX symbolic for {0} (opset {1})"),
)


def failure_reason(exc: BaseException) -> str:
    """One line saying why an exporter failed: the failing op where one is named.

    Parameters
    ----------
    exc:
        The exception; its ``__cause__`` chain is followed to the innermost one.

    Returns
    -------
    str
        ``no ONNX translation for aten.linalg_inv_ex``, or the innermost exception's
        type and first line, at most 300 characters.
    """
    chain = [exc]
    while chain[-1].__cause__ is not None and len(chain) < 20:
        chain.append(chain[-1].__cause__)
    for e in chain:
        text = one_line(e, None)
        for pattern, template in _REASONS:
            m = pattern.search(text)
            if m:
                return template.format(*m.groups())
    return one_line(chain[-1], 300, first_line=True, typed=True)
