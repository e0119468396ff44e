"""Keras 3 front end (tf2onnx). Implemented below `match`."""

from __future__ import annotations

from typing import Any

from ._base import ConvertOptions, path_of, type_modules


class KerasConverter:
    name = "keras"
    extensions = (".keras", ".h5", ".hdf5")

    def match(self, ref: Any) -> bool:
        p = path_of(ref)
        if p is not None:
            if p.is_dir():
                return (p / "saved_model.pb").exists()
            return p.suffix.lower() in self.extensions
        mods = type_modules(ref)
        return "keras" in mods or "tf_keras" in mods

    def convert(self, ref: Any, example_input: Any, options: ConvertOptions) -> Any:
        raise NotImplementedError
