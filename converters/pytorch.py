"""PyTorch front end (torch.onnx dynamo exporter). Implemented below `match`."""

from __future__ import annotations

from typing import Any

from ._base import ConvertOptions, path_of, type_modules


class TorchConverter:
    name = "pytorch"
    extensions = (".pt2",)

    def match(self, ref: Any) -> bool:
        p = path_of(ref)
        if p is not None:
            return p.suffix.lower() in self.extensions
        return "torch" in type_modules(ref)

    def convert(self, ref: Any, example_input: Any, options: ConvertOptions) -> Any:
        raise NotImplementedError
