"""The one table of op knowledge: ONNX op types and framework classes to :class:`LayerKind`,
which input slots carry shapes or weights, and which attributes describe a layer.

Every other module asks this one; no op type or class name is compared elsewhere.

>>> op_kind("Conv")
<LayerKind.CONV: 'conv'>
>>> op_kind("MatMul", reads_param=True), op_kind("MatMul")
(<LayerKind.LINEAR: 'linear'>, <LayerKind.MATMUL: 'matmul'>)
>>> class_kind("Conv1D", "pytorch"), class_kind("Conv1D", "keras")   # transformers' Conv1D is a linear layer
(<LayerKind.LINEAR: 'linear'>, <LayerKind.CONV: 'conv'>)
>>> meta_slot("Reshape", 1), meta_slot("Reshape", 0)
(True, False)
>>> op_attributes("Gemm", {"transB": 1}, (10, 64))
{'op': 'Gemm', 'features': 10, 'in_features': 64}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .kinds import LayerKind

K = LayerKind


def _table(kind: LayerKind, names: str) -> dict[str, LayerKind]:
    return {n: kind for n in names.split()}


# ---------------------------------------------------------------------------------------
# ONNX op types (default domain and the common contrib ops)
# ---------------------------------------------------------------------------------------
OP_KINDS: dict[str, LayerKind] = {
    **_table(K.CONV, "Conv ConvTranspose ConvInteger QLinearConv DeformConv NhwcConv FusedConv"),
    **_table(K.LINEAR, "Gemm QGemm FusedGemm QLinearMatMul MatMulInteger FusedMatMul"),
    **_table(K.MATMUL, "MatMul Einsum"),
    **_table(
        K.NORM,
        "BatchNormalization InstanceNormalization LayerNormalization GroupNormalization "
        "LpNormalization LRN MeanVarianceNormalization RMSNormalization SimplifiedLayerNormalization "
        "SkipLayerNormalization SkipSimplifiedLayerNormalization",
    ),
    **_table(
        K.ACTIVATION,
        "Relu LeakyRelu PRelu Elu Selu Celu Gelu FastGelu BiasGelu Sigmoid HardSigmoid HardSwish Tanh "
        "Softmax LogSoftmax Softplus Softsign Mish ThresholdedRelu Shrink Swish QuickGelu",
    ),
    **_table(
        K.POOL,
        "MaxPool AveragePool GlobalAveragePool GlobalMaxPool LpPool GlobalLpPool MaxRoiPool RoiAlign MaxUnpool",
    ),
    **_table(K.MERGE, "Add Sum Concat Mul Max Min Mean"),
    **_table(K.ATTENTION, "Attention MultiHeadAttention GroupQueryAttention PackedAttention"),
    **_table(K.EMBEDDING, "EmbedLayerNormalization"),
    **_table(K.RECURRENT, "LSTM GRU RNN"),
    **_table(
        K.RESHAPE,
        "Reshape Flatten Transpose Squeeze Unsqueeze Expand Slice Split Tile Pad Gather GatherElements "
        "GatherND Compress SplitToSequence ConcatFromSequence DepthToSpace SpaceToDepth ScatterND "
        "ScatterElements Col2Im",
    ),
    **_table(K.IDENTITY, "Identity Cast CastLike"),
    **_table(K.DROPOUT, "Dropout"),
    **_table(K.RESIZE, "Resize Upsample"),
    **_table(
        K.REDUCE,
        "ReduceMean ReduceSum ReduceMax ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceLogSum "
        "ReduceLogSumExp ReduceSumSquare ArgMax ArgMin TopK CumSum",
    ),
    **_table(K.SHAPE, "Shape Size"),
    **_table(
        K.CONSTANT,
        "Constant ConstantOfShape Range EyeLike RandomNormal RandomUniform RandomNormalLike RandomUniformLike",
    ),
    **_table(K.CONTROL, "If Loop Scan SequenceMap"),
    **_table(
        K.ELEMENTWISE,
        "Sub Div Pow Sqrt Exp Log Neg Abs Erf Reciprocal Where Equal Less LessOrEqual Greater GreaterOrEqual "
        "Not And Or Xor Floor Ceil Round Sign Sin Cos Tan Asin Acos Atan Sinh Cosh Clip Mod "
        "Trilu IsNaN IsInf BitShift Det",
    ),
}

#: merge ops that can close a skip connection (DESIGN.md's table)
SKIP_MERGE_OPS: frozenset[str] = frozenset({"Add", "Sum", "Concat", "Mul"})
ADD_MERGES: frozenset[str] = frozenset({"Add", "Sum"})
CONCAT_MERGES: frozenset[str] = frozenset({"Concat"})
GATE_MERGES: frozenset[str] = frozenset({"Mul"})

#: ops whose output can gate a tensor (the end of a squeeze-excitation branch)
GATE_OPS: frozenset[str] = frozenset({"Sigmoid", "HardSigmoid", "Softmax"})

#: elementwise ops that are nonlinear in their data input: an activation written out (GELU's
#: Erf, softplus' Exp and Log, a norm's Sqrt outside a norm layer), rounding, clipping
NONLINEAR_OPS: frozenset[str] = frozenset(
    "Exp Log Erf Sqrt Pow Reciprocal Sin Cos Tan Tanh Sinh Cosh Asin Acos Atan Abs Clip Max Min Sign "
    "Floor Ceil Round Mod".split()
)
#: products: nonlinear when both factors are data (attention's scores, a gated unit)
PRODUCT_OPS: frozenset[str] = frozenset({"Mul", "MatMul", "Div", "Einsum"})
#: elementwise ops that are affine in one data input when the others are constants or parameters
AFFINE_OPS: frozenset[str] = frozenset({"Add", "Sub", "Mul", "Div", "Neg"})

#: ops that only move data between layouts, or do nothing at inference time
LAYOUT_OPS: frozenset[str] = frozenset({"Transpose", "Identity", "Cast", "CastLike", "Dropout"})


def is_skip_merge(op_type: str) -> bool:
    """Whether ``op_type`` can close a skip connection (Add, Sum, Concat, Mul)."""
    return op_type in SKIP_MERGE_OPS


def is_add_merge(op_type: str) -> bool:
    return op_type in ADD_MERGES


def is_concat_merge(op_type: str) -> bool:
    return op_type in CONCAT_MERGES


def is_gate_op(op_type: str) -> bool:
    """Whether an op's output can gate a tensor (a sigmoid or softmax)."""
    return op_type in GATE_OPS


def is_softmax(name: str | None) -> bool:
    """Whether an op type or a framework class is a softmax."""
    return name == "Softmax"


def is_nonlinear(op_type: str) -> bool:
    """Whether ``op_type`` is nonlinear in its one data input: an activation or :data:`NONLINEAR_OPS`."""
    return op_type in NONLINEAR_OPS or OP_KINDS.get(op_type) is LayerKind.ACTIVATION


def is_product(op_type: str) -> bool:
    """Whether ``op_type`` multiplies or divides its inputs (nonlinear when two of them are data)."""
    return op_type in PRODUCT_OPS


def is_affine(op_type: str) -> bool:
    """Whether ``op_type`` is affine in a data input whose partners are constants (a bias, a scale)."""
    return op_type in AFFINE_OPS


def is_layout_op(op_type: str) -> bool:
    """Whether ``op_type`` only changes a layout or does nothing at inference (see :data:`LAYOUT_OPS`)."""
    return op_type in LAYOUT_OPS


def is_constant_op(op_type: str) -> bool:
    """Whether ``op_type`` is ONNX's ``Constant`` node (its value an attribute)."""
    return op_type == "Constant"


def stores_weight_transposed(op_type: str, attrs: Mapping[str, Any]) -> bool:
    """Whether a 2-D weight read in slot 1 is stored (in, out): MatMul always, Gemm without ``transB``.

    Shown (out, in) like a PyTorch Linear.
    """
    return op_type == "MatMul" or (op_type == "Gemm" and not attrs.get("transB", 0))


#: The glyph drawn for a merge layer, by a word its type holds (ONNX op or framework class).
MERGE_SYMBOLS: Mapping[str, str] = {
    "Add": "+", "Sum": "+", "Mul": "\u00d7", "Concat": "concat", "Concatenate": "concat", "Multiply": "\u00d7",
}


def merge_symbol(type_name: str) -> str | None:
    """The glyph of a merge layer of type ``type_name`` (``+``, ``×``, ``concat``), else None."""
    low = type_name.lower()
    return next((sym for key, sym in MERGE_SYMBOLS.items() if key.lower() in low), None)


def reads_only_shape(op_type: str) -> bool:
    """Whether ``op_type`` reads only its input's shape (``Shape``, ``Size``), never its values."""
    return OP_KINDS.get(op_type) is LayerKind.SHAPE


def is_conv(op_type: str) -> bool:
    """Whether ``op_type`` is a convolution or a transposed one (weight in slot 1, bias in slot 2)."""
    return op_type in ("Conv", "ConvTranspose")


def is_transposed_conv(op_type: str) -> bool:
    return op_type == "ConvTranspose"

#: kinds that leave a tensor "unchanged" on an identity shortcut (pools only when parameter-free)
UNCHANGED_KINDS: frozenset[LayerKind] = frozenset({K.RESHAPE, K.IDENTITY, K.DROPOUT})
IDENTITY_SHORTCUT_KINDS: frozenset[LayerKind] = UNCHANGED_KINDS | {K.POOL}

#: kinds that hold learned weights by nature
LEARNED_KINDS: frozenset[LayerKind] = frozenset({K.CONV, K.LINEAR, K.NORM, K.EMBEDDING, K.ATTENTION, K.RECURRENT})

#: when a layer has several ops, its kind is the first of these found among them
KIND_PRIORITY: tuple[LayerKind, ...] = (
    K.ATTENTION,
    K.RECURRENT,
    K.CONV,
    K.LINEAR,
    K.EMBEDDING,
    K.NORM,
    K.POOL,
    K.RESIZE,
    K.MATMUL,
    K.MERGE,
    K.ACTIVATION,
    K.REDUCE,
    K.DROPOUT,
    K.ELEMENTWISE,
    K.RESHAPE,
    K.IDENTITY,
    K.CONTROL,
    K.CONSTANT,
    K.SHAPE,
    K.OTHER,
)

# ---------------------------------------------------------------------------------------
# Input slots that carry shapes or types, not data.
#   VALUE: the slot's *values* are used as a shape/axes/index parameter (Reshape's shape).
#   TYPE:  only the slot's shape or dtype is read (Shape's input, CastLike's target).
# A node reading a data tensor only through such slots is not on the data flow.
# ---------------------------------------------------------------------------------------
_VALUE_SLOTS: dict[str, frozenset[int]] = {
    "Reshape": frozenset({1}),
    "Expand": frozenset({1}),
    "Tile": frozenset({1}),
    "Slice": frozenset({1, 2, 3, 4}),
    "Squeeze": frozenset({1}),
    "Unsqueeze": frozenset({1}),
    "Pad": frozenset({1, 3}),
    "Resize": frozenset({1, 2, 3}),
    "Upsample": frozenset({1}),
    "Range": frozenset({0, 1, 2}),
    "ConstantOfShape": frozenset({0}),
    "TopK": frozenset({1}),
    "Split": frozenset({1}),
    "OneHot": frozenset({1}),
    "CenterCropPad": frozenset({1}),
    "Trilu": frozenset({1}),
    "ReduceMean": frozenset({1}),
    "ReduceSum": frozenset({1}),
    "ReduceMax": frozenset({1}),
    "ReduceMin": frozenset({1}),
    "ReduceProd": frozenset({1}),
    "ReduceL1": frozenset({1}),
    "ReduceL2": frozenset({1}),
    "ReduceLogSum": frozenset({1}),
    "ReduceLogSumExp": frozenset({1}),
    "ReduceSumSquare": frozenset({1}),
    "CumSum": frozenset({1}),
}
_TYPE_SLOTS: dict[str, frozenset[int]] = {
    "Shape": frozenset({0}),
    "Size": frozenset({0}),
    "CastLike": frozenset({1}),  # its dtype only: see dtype_slot
    "EyeLike": frozenset({0}),
    "RandomNormalLike": frozenset({0}),
    "RandomUniformLike": frozenset({0}),
    "Bernoulli": frozenset(),
}


#: op type -> its input slots that carry a shape/type rather than data (both tables above)
_META_SLOTS: dict[str, frozenset[int]] = {
    op: _VALUE_SLOTS.get(op, frozenset()) | _TYPE_SLOTS.get(op, frozenset()) for op in {*_VALUE_SLOTS, *_TYPE_SLOTS}
}


def meta_slot(op_type: str, slot: int) -> bool:
    """Whether input ``slot`` of ``op_type`` carries a shape/type rather than data."""
    return slot in _META_SLOTS.get(op_type, ())


_DTYPE_SLOTS: dict[str, frozenset[int]] = {"CastLike": frozenset({1})}


def dtype_slot(op_type: str, slot: int) -> bool:
    """Whether only the *dtype* of input ``slot`` is read (CastLike's target): not even its shape."""
    return slot in _DTYPE_SLOTS.get(op_type, ())


def value_meta_slot(op_type: str, slot: int) -> bool:
    """Whether the *values* at ``slot`` are a shape-like parameter (Reshape's 2nd input)."""
    return slot in _VALUE_SLOTS.get(op_type, ())


def op_kind(op_type: str, reads_param: bool = False) -> LayerKind:
    """The kind of one ONNX op; ``reads_param`` turns MatMul into linear, Gather into embedding."""
    if reads_param:
        if op_type in ("MatMul", "Einsum"):
            return K.LINEAR
        if op_type in ("Gather", "GatherND"):
            return K.EMBEDDING
    return OP_KINDS.get(op_type, K.OTHER)


# ---------------------------------------------------------------------------------------
# Weight slots and the attributes that describe a layer, by op type
# ---------------------------------------------------------------------------------------
#: Input slots of well-known ops, named (``None``: not a weight slot).
ROLES: Mapping[str, tuple[str | None, ...]] = {
    "Conv": (None, "weight", "bias"),
    "ConvTranspose": (None, "weight", "bias"),
    "Gemm": (None, "weight", "bias"),
    "MatMul": (None, "weight"),
    "BatchNormalization": (None, "scale", "bias", "mean", "var"),
    "InstanceNormalization": (None, "scale", "bias"),
    "LayerNormalization": (None, "scale", "bias"),
    "GroupNormalization": (None, "scale", "bias"),
    "Add": ("bias", "bias"),
    "Mul": ("scale", "scale"),
    "Gather": ("weight", None),
    "LSTM": (None, "W", "R", "B"),
    "GRU": (None, "W", "R", "B"),
    "RNN": (None, "W", "R", "B"),
    "PRelu": (None, "slope"),
}


def conv_channels(op_type: str, weight: tuple[int, ...], group: int) -> tuple[int, int]:
    """(output, input) channels of a convolution from its kernel's shape (ONNX's layout).

    >>> conv_channels("Conv", (64, 3, 7, 7), 1), conv_channels("ConvTranspose", (64, 8, 2, 2), 2)
    ((64, 3), (16, 64))
    """
    if is_transposed_conv(op_type):
        return weight[1] * group, weight[0]
    return weight[0], weight[1] * group


_Reader = Callable[[dict[str, Any], Mapping[str, Any], Any, str], None]


def _copy(out: dict[str, Any], a: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in a:
            out[key] = a[key]


def _conv_attrs(out: dict[str, Any], a: Mapping[str, Any], w: Any, op_type: str) -> None:
    _copy(out, a, ("kernel_shape", "strides", "pads", "dilations", "group"))
    if w is not None and len(w) >= 3:
        out.setdefault("kernel_shape", tuple(w[2:]))
        out["channels"], out["in_channels"] = conv_channels(op_type, w, int(a.get("group", 1)))


def _gemm_attrs(out: dict[str, Any], a: Mapping[str, Any], w: Any, op_type: str) -> None:
    if w is not None and len(w) == 2:
        trans_b = int(a.get("transB", 0))
        out["features"], out["in_features"] = (w[0], w[1]) if trans_b else (w[1], w[0])


def _matmul_attrs(out: dict[str, Any], a: Mapping[str, Any], w: Any, op_type: str) -> None:
    if w is not None and len(w) >= 2:
        out["features"], out["in_features"] = w[-1], w[-2]


def _norm_attrs(out: dict[str, Any], a: Mapping[str, Any], w: Any, op_type: str) -> None:
    if w is not None and w:
        out["channels"] = w[0]
    _copy(out, a, ("epsilon",))


def _pool_attrs(out: dict[str, Any], a: Mapping[str, Any], w: Any, op_type: str) -> None:
    _copy(out, a, ("kernel_shape", "strides", "pads"))


def _axis_attrs(out: dict[str, Any], a: Mapping[str, Any], w: Any, op_type: str) -> None:
    _copy(out, a, ("axis",))


def _gather_attrs(out: dict[str, Any], a: Mapping[str, Any], w: Any, op_type: str) -> None:
    if w is not None and len(w) == 2:  # an embedding table
        out["num_embeddings"], out["features"] = w
    else:
        _axis_attrs(out, a, w, op_type)


def _recurrent_attrs(out: dict[str, Any], a: Mapping[str, Any], w: Any, op_type: str) -> None:
    _copy(out, a, ("hidden_size",))


def _readers(reader: _Reader, names: str) -> dict[str, _Reader]:
    return {n: reader for n in names.split()}


#: op type -> how its attributes and first weight's shape describe the layer
_ATTRIBUTE_READERS: dict[str, _Reader] = {
    **_readers(_conv_attrs, "Conv ConvTranspose QLinearConv"),
    **_readers(_gemm_attrs, "Gemm"),
    **_readers(_matmul_attrs, "MatMul Einsum"),
    **_readers(_norm_attrs, "BatchNormalization LayerNormalization InstanceNormalization GroupNormalization"),
    **_readers(_gather_attrs, "Gather"),
    **_readers(_pool_attrs, "MaxPool AveragePool LpPool"),
    **_readers(_axis_attrs, "Concat Softmax LogSoftmax Flatten"),
    **_readers(_recurrent_attrs, "LSTM GRU RNN"),
}


def op_attributes(op_type: str, attrs: Mapping[str, Any], weight: tuple[int, ...] | None) -> dict[str, Any]:
    """The comparable facts of a layer whose main op is ``op_type``: ``op`` and, by op
    type, hyper-parameters from its attributes and sizes from its first weight's shape."""
    out: dict[str, Any] = {"op": op_type}
    reader = _ATTRIBUTE_READERS.get(op_type)
    if reader is not None:
        reader(out, attrs, weight, op_type)
    return out


# ---------------------------------------------------------------------------------------
# Framework classes, keyed by framework because names clash (transformers' Conv1D is a
# linear layer, Keras' Conv1D a convolution). PyTorch covers torch.nn and transformers.
# ---------------------------------------------------------------------------------------
_TORCH_CLASSES: dict[str, LayerKind] = {
    **_table(
        K.CONV,
        "Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d LazyConv1d LazyConv2d LazyConv3d",
    ),
    **_table(
        K.LINEAR,
        "Linear LazyLinear Bilinear NonDynamicallyQuantizableLinear Conv1D",  # Conv1D: transformers' GPT-2
    ),
    **_table(
        K.NORM,
        "BatchNorm1d BatchNorm2d BatchNorm3d SyncBatchNorm LayerNorm GroupNorm InstanceNorm1d InstanceNorm2d "
        "InstanceNorm3d LocalResponseNorm RMSNorm LlamaRMSNorm T5LayerNorm",
    ),
    **_table(
        K.ACTIVATION,
        "ReLU ReLU6 LeakyReLU PReLU RReLU ELU SELU CELU GELU SiLU Mish Sigmoid Hardsigmoid Hardswish Hardtanh "
        "Tanh Tanhshrink Softmax Softmax2d LogSoftmax Softplus Softsign Softshrink Hardshrink Threshold "
        "GLU LogSigmoid NewGELUActivation GELUActivation FastGELUActivation QuickGELUActivation "
        "SiLUActivation PytorchGELUTanh",
    ),
    **_table(
        K.POOL,
        "MaxPool1d MaxPool2d MaxPool3d AvgPool1d AvgPool2d AvgPool3d AdaptiveAvgPool1d AdaptiveAvgPool2d "
        "AdaptiveAvgPool3d AdaptiveMaxPool1d AdaptiveMaxPool2d AdaptiveMaxPool3d LPPool1d LPPool2d "
        "FractionalMaxPool2d",
    ),
    **_table(K.EMBEDDING, "Embedding EmbeddingBag"),
    **_table(K.ATTENTION, "MultiheadAttention"),
    **_table(K.RECURRENT, "LSTM GRU RNN LSTMCell GRUCell RNNCell"),
    **_table(K.RESHAPE, "Flatten Unflatten ZeroPad2d ConstantPad2d ReflectionPad2d ReplicationPad2d ChannelShuffle"),
    **_table(K.DROPOUT, "Dropout Dropout1d Dropout2d Dropout3d AlphaDropout FeatureAlphaDropout"),
    **_table(K.IDENTITY, "Identity"),
    **_table(K.RESIZE, "Upsample UpsamplingNearest2d UpsamplingBilinear2d PixelShuffle PixelUnshuffle"),
}

_KERAS_CLASSES: dict[str, LayerKind] = {
    **_table(
        K.CONV,
        "Conv1D Conv2D Conv3D Conv1DTranspose Conv2DTranspose Conv3DTranspose SeparableConv1D SeparableConv2D "
        "DepthwiseConv1D DepthwiseConv2D Convolution2D",
    ),
    **_table(K.LINEAR, "Dense EinsumDense"),
    **_table(
        K.NORM,
        "BatchNormalization LayerNormalization GroupNormalization UnitNormalization SpectralNormalization RMSNormalization",
    ),
    **_table(K.ACTIVATION, "Activation ReLU LeakyReLU PReLU ELU Softmax"),
    **_table(
        K.POOL,
        "MaxPooling1D MaxPooling2D MaxPooling3D AveragePooling1D AveragePooling2D AveragePooling3D "
        "GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D GlobalMaxPooling1D "
        "GlobalMaxPooling2D GlobalMaxPooling3D MaxPool2D AvgPool2D",
    ),
    **_table(K.EMBEDDING, "Embedding"),
    **_table(K.ATTENTION, "MultiHeadAttention Attention AdditiveAttention GroupQueryAttention"),
    **_table(K.RECURRENT, "LSTM GRU SimpleRNN Bidirectional ConvLSTM2D"),
    **_table(
        K.RESHAPE,
        "Flatten Reshape Permute RepeatVector ZeroPadding1D ZeroPadding2D ZeroPadding3D Cropping1D Cropping2D Cropping3D",
    ),
    **_table(
        K.DROPOUT,
        "Dropout SpatialDropout1D SpatialDropout2D SpatialDropout3D GaussianNoise GaussianDropout AlphaDropout ActivityRegularization",
    ),
    **_table(K.IDENTITY, "Identity"),
    **_table(K.MERGE, "Add Concatenate Multiply Average Maximum Minimum Subtract Dot"),
    **_table(K.RESIZE, "UpSampling1D UpSampling2D UpSampling3D Resizing"),
    **_table(K.INPUT, "InputLayer"),
}

CLASS_KINDS: dict[str, dict[str, LayerKind]] = {"pytorch": _TORCH_CLASSES, "keras": _KERAS_CLASSES}

#: framework classes of input placeholders (not layers of their own in the analysis)
INPUT_CLASSES: frozenset[str] = frozenset({"InputLayer"})


def class_kind(cls: str, framework: str) -> LayerKind | None:
    """The kind of a framework class, or None when the class is unknown."""
    if not cls:
        return None
    table = CLASS_KINDS.get(framework)
    if table is not None and cls in table:
        return table[cls]
    for other in CLASS_KINDS.values():  # an ONNX file annotated by someone else
        if cls in other:
            return other[cls]
    return None


def is_input_class(cls: str) -> bool:
    return cls in INPUT_CLASSES


_SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SHORT = {"MatMul": "matmul", "BatchNormalization": "batch_norm", "LayerNormalization": "layer_norm"}


def op_slug(op_type: str) -> str:
    """A short lowercase name for a functional op's layer: ``Add`` -> ``add``, ``ReduceMean`` -> ``reduce_mean``."""
    return _SHORT.get(op_type) or _SNAKE.sub("_", op_type).lower()


# ---------------------------------------------------------------------------------------
# Costs (core/costs.py): which ops multiply-accumulate, and the bytes of one element.
# ---------------------------------------------------------------------------------------
#: op type -> the name of its MAC formula in :data:`modelmap.core.costs.FORMULAS`;
#: every other op (elementwise, normalisation, activation, pooling, ...) costs no MACs
MAC_FORMULAS: dict[str, str] = {
    "Conv": "conv",
    "ConvInteger": "conv",
    "ConvTranspose": "conv_transpose",
    "Gemm": "gemm",
    "MatMul": "matmul",
    "MatMulInteger": "matmul",
    "Einsum": "einsum",
    "LSTM": "recurrent",
    "GRU": "recurrent",
    "RNN": "recurrent",
    "Attention": "attention",
}

#: ONNX element type (lower-case ``TensorProto`` name) -> bytes per element
DTYPE_BYTES: dict[str, float] = {
    **dict.fromkeys(("double", "int64", "uint64", "complex64"), 8),
    **dict.fromkeys(("float", "int32", "uint32"), 4),
    **dict.fromkeys(("float16", "bfloat16", "int16", "uint16"), 2),
    **dict.fromkeys(("int8", "uint8", "bool", "float8e4m3fn", "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz"), 1),
    **dict.fromkeys(("int4", "uint4", "float4e2m1"), 0.5),
    "complex128": 16,
}


__all__ = [
    "ADD_MERGES",
    "LAYOUT_OPS",
    "ROLES",
    "CLASS_KINDS",
    "CONCAT_MERGES",
    "DTYPE_BYTES",
    "GATE_MERGES",
    "GATE_OPS",
    "IDENTITY_SHORTCUT_KINDS",
    "KIND_PRIORITY",
    "LEARNED_KINDS",
    "MAC_FORMULAS",
    "OP_KINDS",
    "SKIP_MERGE_OPS",
    "UNCHANGED_KINDS",
    "class_kind",
    "conv_channels",
    "dtype_slot",
    "is_add_merge",
    "is_concat_merge",
    "is_constant_op",
    "is_gate_op",
    "is_input_class",
    "is_layout_op",
    "is_skip_merge",
    "is_softmax",
    "is_transposed_conv",
    "meta_slot",
    "op_attributes",
    "op_kind",
    "op_slug",
    "value_meta_slot",
]
