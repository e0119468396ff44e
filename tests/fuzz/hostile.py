"""Hostile text: names, metadata JSON and Python literals that try to break out or blow up."""

from __future__ import annotations

import json
import random

NAMES = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "' onmouseover='alert(1)",
    "</title><script>alert(1)</script>",
    "]]><script>x</script>",
    "<svg onload=alert(1)>",
    "a\nb\r\nc",
    "line\u2028sep\u2029para",
    "\u202eRTL override\u202c",
    "\u200f\u05e9\u05dc\u05d5\u05dd",
    "nul\x00byte",
    "tab\tand\x1bescape\x7f",
    "\ufeffbom",
    "-->",
    "end",
    "subgraph",
    "%%{init: {'securityLevel': 'loose'}}%%",
    "click n0 call alert()",
    'click n0 href "javascript:alert(1)"',
    "\\N\\G\\L",
    "&#0;&amp;&lt;",
    "{}[]()|`~",
    "$(touch CANARY)",
    "`touch CANARY`",
    "'; touch CANARY; '",
    "a/b/c",
    "////",
    "",
    " ",
    "\U0001f600 emoji",
    "\U0001f600" * 50,
    "é" * 300,
]


def pick(rng: random.Random) -> str:
    return rng.choice(NAMES)


def name(rng: random.Random, base: str) -> str:
    """A hostile variant of ``base``; sometimes very long (beyond Graphviz's 16,384-character limit)."""
    r = rng.random()
    if r < 0.05:
        return base + "x" * rng.choice([17_000, 40_000, 100_000])
    if r < 0.1:
        return pick(rng) * rng.choice([100, 600])
    if r < 0.7:
        return f"{base}{pick(rng)}"
    return base


def layers_json(rng: random.Random, node_names: list[str]) -> str:
    """A ``modelmap.layers`` value: malformed JSON, wrong types, wrong fields, huge or deep."""
    good = {"name": node_names[0], "namespace": node_names[0], "cls": "Conv2d", "params": 10}
    choices = [
        lambda: "{not json",
        lambda: "",
        lambda: "null",
        lambda: "42",
        lambda: '"a string"',
        lambda: json.dumps({"name": "x"}),
        lambda: json.dumps([1, 2, 3]),
        lambda: json.dumps([None]),
        lambda: json.dumps([{}]),
        lambda: json.dumps([{**good, "params": "many"}]),
        lambda: json.dumps([{**good, "params": -5}]),
        lambda: json.dumps([{**good, "params": 10**400}]),
        lambda: json.dumps([{**good, "params": 1.5}]),
        lambda: json.dumps([{**good, "params": True}]),
        lambda: json.dumps([{**good, "name": 7}]),
        lambda: json.dumps([{**good, "name": None}]),
        lambda: json.dumps([{**good, "namespace": ["a"]}]),
        lambda: json.dumps([{**good, "inbound": "abc"}]),
        lambda: json.dumps([{**good, "inbound": [1, {"a": 2}]}]),
        lambda: json.dumps([{**good, "output_shape": "x"}]),
        lambda: json.dumps([{**good, "output_shape": [2**62, 2**62]}]),
        lambda: json.dumps([{**good, "output_shape": [[1]]}]),
        lambda: json.dumps([{**good, "leaf": "yes"}]),
        lambda: json.dumps([{**good, "unknown_field": 1}]),
        lambda: json.dumps([{**good, "cls": pick(rng)}]),
        lambda: json.dumps([{**good, "name": pick(rng) * 50}]),
        lambda: json.dumps([good] * 2),
        lambda: "[" * 100_000 + "]" * 100_000,
        lambda: '{"a":' * 50_000 + "1" + "}" * 50_000,
        lambda: json.dumps([{**good, "name": f"n{i}", "namespace": f"n{i}"} for i in range(20_000)]),
        lambda: "NaN",
        lambda: json.dumps([{**good, "params": float("inf")}]),
        lambda: '[{"name": "\\ud800", "namespace": "a", "cls": "x"}]',
    ]
    return rng.choice(choices)()


def literal(rng: random.Random) -> str:
    """A ``pkg.torch.onnx.name_scopes`` value: Python literal text, often not one."""
    choices = [
        lambda: "['', 'layer1', 'conv']",
        lambda: "['', 'a', 'b', 'c', 'd']",
        lambda: "[",
        lambda: "['a'",
        lambda: "",
        lambda: "None",
        lambda: "42",
        lambda: "{'a': 1}",
        lambda: "[[1, 2], [3]]",
        lambda: "__import__('os').system('touch CANARY')",
        lambda: "[__import__('os').system('touch CANARY')]",
        lambda: "(lambda: 1)()",
        lambda: "[" * 100_000 + "]" * 100_000,
        lambda: "[" + "1," * 200_000 + "]",
        lambda: "'" + "x" * 100_000 + "'",
        lambda: "[" + ", ".join(repr(pick(rng)) for _ in range(5)) + "]",
        lambda: "9" * 5000,
        lambda: "10**10**10",
        lambda: "b'\\xff'",
        lambda: "['a\\x00b', 'c']",
        lambda: "[1e309]",
        lambda: "[..., None, True]",
    ]
    return rng.choice(choices)()
