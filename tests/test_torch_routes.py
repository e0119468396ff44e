"""The PyTorch front end's two routes give the same analysis.

A structure-only conversion of a plain ``torch.nn`` model takes the TorchScript exporter
(fast); the reference, and every conversion with weights, takes the dynamo exporter
(``converters/_torch_export.py``). Each fixture below is analysed both ways and the
analyses must agree on everything a drawing, a table or a comparison reads: layer names,
types, kinds, parameters, MACs, shapes, connections, skips and blocks. What may differ is
the ONNX op a layer lowered to (``GlobalAveragePool`` vs ``ReduceMean``, ``Flatten`` vs
``Reshape``: one computation, which :mod:`modelmap.core.lowering` already equates), so the
name of a functional ``torch.flatten``'s layer (``flatten`` vs ``reshape``), and the
converter's name.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("torch")

import modelmap as mm  # noqa: E402
from modelmap.converters import ConvertOptions  # noqa: E402
from modelmap.converters import _torch_export as routes  # noqa: E402

from .fixture_cache import build  # noqa: E402

pytestmark = pytest.mark.torch

#: plain torch.nn fixtures: CNNs with identity, projection, concat and gating skips, a
#: U-Net, an Inception module, the seed networks
PLAIN = [
    "seed_resnet", "seed_plain", "small_cnn", "mlp", "convnet", "bottleneck_resnet", "inverted_residual",
    "densenet", "unet", "inception", "se_block",
]


def _structure(analysis: Any) -> dict[str, Any]:
    """``to_dict()`` without what may differ between routes (see the module's docstring)."""
    d = analysis.to_dict()
    d.pop("converter")
    for layer in d["layers"]:
        layer.pop("attrs", None)
    for rejection in d.get("rejections", []):
        rejection.pop("op", None)
    text = json.dumps(d).replace('"flatten"', '"reshape"').replace('"Flatten"', '"Reshape"')
    return json.loads(text)


@pytest.mark.parametrize("name", PLAIN)
def test_the_structure_route_gives_the_dynamo_routes_analysis(fixture_cache: Any, name: str) -> None:
    reference = fixture_cache.analysis("torch", name)  # to_onnx: with weights, the dynamo route
    assert reference.converter == routes.ROUTE_DYNAMO
    model, example = build("torch", name)
    fast = mm.analyze(model, example, cache=False)  # structure only
    assert fast.converter == routes.ROUTE_TORCHSCRIPT
    assert _structure(fast) == _structure(reference)


def test_the_structure_route_is_taken_only_where_it_suits() -> None:
    model, _ = build("torch", "seed_resnet")
    assert routes.structure_route_suits(model, ConvertOptions(weights=False))
    assert not routes.structure_route_suits(model, ConvertOptions(weights=True))  # convert: the reference route
    attention, _ = build("torch", "transformer_encoder")  # nn.MultiheadAttention lowers to other ops
    assert not routes.structure_route_suits(attention, ConvertOptions(weights=False))
    pytest.importorskip("transformers")
    hf, _ = build("torch", "bert_tiny")
    assert not routes.structure_route_suits(hf, ConvertOptions(weights=False))  # its mask exports differently


def test_a_model_the_structure_route_cannot_export_falls_back_to_dynamo_silently(capfd: Any) -> None:
    """``torch.diff`` has no TorchScript translation; the dynamo exporter decomposes it."""
    import torch

    class Unscriptable(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.diff(self.fc(x), dim=-1)  # no TorchScript symbolic for aten::diff

    a = mm.analyze(Unscriptable().eval(), torch.randn(1, 4), cache=False)
    assert a.converter == routes.ROUTE_DYNAMO
    assert [layer.name for layer in a.layers if layer.name == "fc"] == ["fc"]
    assert "warning" not in capfd.readouterr().err  # the fast route's failure is no news to the user
