"""Structure first: a PyTorch model's weights left out of its ONNX, and models on the meta device.

A diagram, an analysis, a table or a comparison needs the graph and the parameters'
shapes, not their values (``ConvertOptions.weights`` is False). The exporter's
initializers that hold the model's state (parameters and buffers) then keep their name,
element type and shape, and lose their values: :func:`strip_values` swaps each one's
value for a :class:`ShapeOnlyTensor`, and :func:`clear_values` leaves their
``TensorProto`` without data. Nothing copies, serialises or shape-infers the weights.

A model on PyTorch's meta device (``with torch.device("meta"): Model(config)``) has
shapes and no values: it converts only structure first. Its example inputs move to the
meta device, its layer table is recorded under a ``FakeTensorMode`` (the eager pass of
a ``transformers`` model reads values, ``Tensor.item()``), and its parameters lose their
values before constant folding. Its buffers get stand-in values (ones, zeros for integers)
so that the folder folds what it folds for the same model on the CPU (a rotary embedding's
cos/sin tables): :func:`stand_in_values` returns every value computed from them, and
those lose their values again after folding, whatever their type. The graph is then
the CPU one, without values.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from modelmap._errors import InputError

#: ONNX element types of floating-point tensors (onnx.TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16)
_FLOAT_TYPES = frozenset({1, 10, 11, 16})


def on_meta(model: Any) -> bool:
    """True if any parameter or buffer of ``model`` lives on the meta device (it has no values)."""
    return any(t.is_meta for t in model.parameters()) or any(t.is_meta for t in model.buffers())


def state_names(model: Any) -> set[str]:
    """The names the exporter gives the model's state tensors: every parameter and buffer
    (tied ones under each of their names)."""
    names = {name for name, _ in model.named_parameters(remove_duplicate=False)}
    return names | {name for name, _ in model.named_buffers(remove_duplicate=False)}


def no_weights_error(what: str) -> InputError:
    """The error for a meta-device model asked for weight values."""
    return InputError(
        f"{what} is on the meta device: it has no weight values, so there is no runnable ONNX, "
        "weight report or histogram to make; draw or analyze it, or write a structure-only ONNX "
        "with mm.to_onnx(model, path, weights=False)"
    )


def to_meta(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """The example inputs with every tensor moved to the meta device (shapes and dtypes kept)."""
    import torch
    from torch.utils import _pytree

    def move(x: Any) -> Any:
        return x.to("meta") if isinstance(x, torch.Tensor) else x

    return _pytree.tree_map(move, args), _pytree.tree_map(move, kwargs)


@contextlib.contextmanager
def fake_mode(meta: bool) -> Iterator[None]:
    """Run under a ``FakeTensorMode`` when ``meta`` (values are made up: shapes only), else as is."""
    if not meta:
        yield
        return
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode(allow_non_fake_inputs=True):
        yield


class ShapeOnlyTensor:
    """An ``onnx_ir`` tensor with an element type and a shape, and no values.

    Serialised, it is a ``TensorProto`` with ``dims`` and ``data_type`` and empty data
    (:func:`clear_values` drops the empty ``raw_data`` field). Asked for its values it
    raises ``FileNotFoundError``, which the constant folder reads as "not available".
    """

    def __init__(self, dtype: Any, shape: Any, name: str | None) -> None:
        import onnx_ir as ir

        self.dtype = dtype
        self.shape = ir.Shape(shape)
        self.name = name
        self.doc_string: str | None = None
        self.metadata_props: dict[str, str] = {}
        self.meta: dict[str, Any] = {}

    @property
    def size(self) -> int:
        import math

        return math.prod(self.shape.numpy())

    @property
    def nbytes(self) -> int:
        import math

        return math.ceil(self.dtype.itemsize * self.size)

    def numpy(self) -> Any:
        raise FileNotFoundError(f"{self.name}: structure only, no values")

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        return self.numpy()

    def tobytes(self) -> bytes:
        return b""

    def __repr__(self) -> str:
        return f"ShapeOnlyTensor<{self.dtype},{self.shape}>"


def strip_values(ir_model: Any, names: set[str], *, floats_only: bool) -> set[str]:
    """Swap the values of the initializers in ``names`` for :class:`ShapeOnlyTensor`.

    ``floats_only`` keeps the values of integer and boolean state (position ids, masks),
    which are small and which shape inference may read. Returns the names stripped.
    """
    stripped = set()
    for name, value in ir_model.graph.initializers.items():
        tensor = value.const_value
        if name not in names or tensor is None or isinstance(tensor, ShapeOnlyTensor):
            continue
        if floats_only and tensor.dtype.value not in _FLOAT_TYPES:
            continue
        value.const_value = ShapeOnlyTensor(tensor.dtype, tensor.shape, name)
        stripped.add(name)
    return stripped


def stand_in_values(ir_model: Any, params: set[str], buffers: set[str]) -> set[str]:
    """For a model on the meta device: parameters without values, buffers with stand-ins.

    Returns the names of the buffers and of every value computed from one (except
    through ops that read only shapes): after folding these hold made-up values.
    """
    import numpy as np
    import onnx_ir as ir

    from modelmap.core import ops

    strip_values(ir_model, params, floats_only=False)
    tainted = set()
    for name, value in ir_model.graph.initializers.items():
        tensor = value.const_value
        if name in buffers and tensor is not None and not isinstance(tensor, ShapeOnlyTensor):
            dtype = tensor.dtype.numpy()
            fill = np.ones if np.issubdtype(dtype, np.floating) else np.zeros
            value.const_value = ir.Tensor(fill(tuple(tensor.shape.numpy()), dtype), name=name)
            tainted.add(name)
    for node in ir_model.graph:
        if ops.reads_only_shape(node.op_type):
            continue
        if any(v is not None and v.name in tainted for v in node.inputs):
            tainted.update(v.name for v in node.outputs)
    return tainted


def shape_only_names(ir_model: Any) -> set[str]:
    """The initializers of ``ir_model`` that hold a :class:`ShapeOnlyTensor`."""
    return {n for n, v in ir_model.graph.initializers.items() if isinstance(v.const_value, ShapeOnlyTensor)}


def state_as_initializers(proto: Any, model: Any, prefix: str) -> None:
    """Give a TorchScript export made with ``export_params=False`` its state back as
    initializers (the graph inputs named ``prefix.<state name>``): floating-point parameters
    with their dims and type only, buffers and integer parameters with their values (small:
    BatchNorm statistics, position ids; the folder reads them). The weights are then never
    serialised: 35 KB instead of 62 MB for the seed ResNet.
    """
    import onnx
    from onnx import numpy_helper

    params = dict(model.named_parameters(prefix=prefix, remove_duplicate=False))
    state = {**dict(model.named_buffers(prefix=prefix, remove_duplicate=False)), **params}
    for inp in proto.graph.input:
        tensor = state.get(inp.name)
        if tensor is None:
            continue
        if inp.name in params and tensor.is_floating_point():
            t = onnx.TensorProto(name=inp.name, data_type=inp.type.tensor_type.elem_type, dims=list(tensor.shape))
        else:
            t = numpy_helper.from_array(tensor.detach().cpu().numpy(), inp.name)
        proto.graph.initializer.append(t)


def clear_values(proto: Any, stripped: set[str]) -> None:
    """Leave the stripped initializers of a serialised model without a data field."""
    if not stripped:
        return
    for t in proto.graph.initializer:
        if t.name in stripped:
            t.ClearField("raw_data")
