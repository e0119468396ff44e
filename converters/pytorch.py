"""PyTorch front end: ``nn.Module``, ``torch.export.ExportedProgram`` and ``.pt2`` files.

Route. ``torch.onnx.export(dynamo=True, optimize=False)``, then constant folding and
dead-code removal only (``onnxscript.optimizer.fold_constants``, ``onnx_ir`` passes):
the exporter's default optimizer would fuse BatchNorm into Conv and label the fused
Conv with the BatchNorm's scope, so we leave that out and BatchNorm stays a visible
``BatchNormalization`` node. If the dynamo exporter fails on an ``nn.Module`` (data-
dependent control flow, say), the TorchScript exporter is tried, with one warning line
on stderr; if both fail, :class:`ConversionError` names the op or reason.

Annotation (see :mod:`modelmap._metadata`). The dynamo exporter leaves on every node
``pkg.torch.onnx.name_scopes`` and ``pkg.torch.onnx.class_hierarchy``, Python list
literals in strings, one entry per level of the module call stack::

    name_scopes     "['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'conv2d']"
    class_hierarchy "['m.Net', 'torch.nn.modules.container.Sequential', 'm.Block',
                      'torch.nn.modules.conv.Conv2d', 'aten.conv2d.default']"

The first entry is the root module (scope ``''``), the last the FX node (the ATen op);
the levels between are the qualified names of the modules being called, which become
the ``namespace`` (and their class names the ``class_hierarchy``). The exporter also
writes a ``namespace`` key of its own (``": m.Net/layer1: torch...Sequential/..."``),
which we overwrite. Nodes the folder creates (a ``Split`` from
``SplitToSequence``+``SequenceAt``, say) carry no metadata; they take the deepest
namespace their readers (else their producers) share. The TorchScript route has no such
metadata: its node names (``/layer1/layer1.0/conv1/Conv``, a repeated call of ``relu``
shows up as ``relu_1``) are resolved against ``named_modules()``.

Layer table. ``modelmap.layers`` lists every module whose ``forward`` ran during one
eager pass under ``torch.no_grad()`` (forward hooks), in call order, with the call stack
as namespace, so that it matches the nodes' namespaces. A parameter shared by several
modules (tied embeddings) is counted once, at its first owner in ``named_modules()``
order; the root module gets a record only when it owns parameters itself. For an
``ExportedProgram`` the table comes from the program's ``nn_module_stack`` metadata and
its state dict instead (the program cannot be run with hooks).

Security of ``.pt2`` files. ``torch.export.load`` is not free of pickle: the graph is
JSON, but weights and constants stored with ``use_pickle`` go through
``torch.load(weights_only=False)``, custom and opaque objects through ``pickle.loads``
(torch 2.13, ``torch/export/pt2_archive/_package.py``). modelmap never runs code from a
model file, so :func:`safe_unpickling` forces every ``torch.load`` during the load to
``weights_only=True`` (tensors and plain containers only) and refuses raw pickles of
custom objects with one clear error. Archives of ordinary models load unchanged.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import sys
from collections.abc import Iterator
from typing import Any

from modelmap import _metadata as md
from modelmap._errors import ConversionError, InputError, MissingInputError, ModelLoadError

from ._base import ConvertOptions, path_of, prepare_environment, quiet, require, step, type_modules

ROUTE_DYNAMO = "torch.onnx dynamo"
ROUTE_TORCHSCRIPT = "torch.onnx torchscript"

SCOPES_KEY = "pkg.torch.onnx.name_scopes"
_CLASSES_KEY = "pkg.torch.onnx.class_hierarchy"
#: Exporter metadata we drop: bulky, and full of this machine's file paths.
_NOISY_KEYS = ("pkg.torch.onnx.stack_trace", "pkg.torch.onnx.fx_node")
_ADAPTER_ROOT = "model"


class TorchConverter:
    """The PyTorch front end (see the module docstring)."""

    name = "pytorch"
    extensions = (".pt2",)

    def match(self, ref: Any) -> bool:
        p = path_of(ref)
        if p is not None:
            return p.suffix.lower() in self.extensions
        return "torch" in type_modules(ref)

    def convert(self, ref: Any, example_input: Any, options: ConvertOptions) -> Any:
        """Convert ``ref`` to an annotated, self-contained ``onnx.ModelProto``.

        Parameters
        ----------
        ref:
            An ``nn.Module``, a ``torch.export.ExportedProgram`` or a ``.pt2`` path.
        example_input:
            For a module: a tensor, a tuple of tensors or a dict of keyword arguments;
            None to use ``options.input_shape``. Ignored for exported programs.
        options:
            Opset, input shape and verbosity.

        Returns
        -------
        onnx.ModelProto
            Every node annotated with ``namespace`` and ``class_hierarchy``; the model
            with framework, route and layer table.

        Raises
        ------
        MissingInputError
            A module with neither an example input nor ``options.input_shape``.
        InputError
            An example input of the wrong kind, or one the model fails to run on.
        ModelLoadError
            A ``.pt2`` file that ``torch.export.load`` cannot read.
        ConversionError
            Both exporters failed; the message names the op or the reason.
        """
        torch = import_torch()
        if path_of(ref) is not None:
            ref = load_pt2(str(ref), options)
        if isinstance(ref, torch.export.ExportedProgram):
            return convert_exported_program(ref, options)
        if not isinstance(ref, torch.nn.Module):
            raise InputError(f"cannot convert a {type(ref).__qualname__}: expected a torch.nn.Module or an ExportedProgram")
        return convert_module(ref, example_input, options)


# ----------------------------------------------------------------------------- inputs


def import_torch() -> Any:
    """Import torch, first removing an empty ``TORCH_LOGS`` (it breaks ``import torch``).

    Returns
    -------
    module
        The ``torch`` module.

    Raises
    ------
    MissingDependencyError
        torch is not installed.
    """
    prepare_environment(ConvertOptions())
    return require("torch", "torch")


def example_args(example_input: Any, options: ConvertOptions, what: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``(args, kwargs)`` to call a model with.

    Parameters
    ----------
    example_input:
        A tensor, a tuple/list of tensors, a dict of keyword arguments, or None.
    options:
        ``input_shape`` gives float32 ``randn`` inputs when ``example_input`` is None.
    what:
        The model's name, for messages.

    Returns
    -------
    tuple
        Positional arguments and keyword arguments.

    Raises
    ------
    MissingInputError
        Neither an example input nor an input shape.
    InputError
        An example input of another kind.
    """
    import torch

    if example_input is None:
        if not options.input_shape:
            raise MissingInputError(
                f"{what} needs an example input to be traced: pass an example input or --input-shape (e.g. 1,3,224,224)"
            )
        gen = torch.Generator().manual_seed(0)
        return tuple(torch.randn(*shape, generator=gen) for shape in options.input_shape), {}
    if isinstance(example_input, torch.Tensor):
        return (example_input,), {}
    if isinstance(example_input, (tuple, list)):
        return tuple(example_input), {}
    if isinstance(example_input, dict):
        return (), dict(example_input)
    raise InputError(
        f"example input for {what} is a {type(example_input).__qualname__}; "
        "expected a tensor, a tuple of tensors or a dict of keyword arguments"
    )


def load_pt2(path: str, options: ConvertOptions) -> Any:
    """Load a ``torch.export`` archive without running code from it.

    Returns
    -------
    torch.export.ExportedProgram

    Raises
    ------
    ModelLoadError
        The file is not an archive ``torch.export.load`` can read, or it holds pickled
        Python objects (which could run code when loaded).
    """
    import torch

    try:
        with step(f"loading {path}", options), quiet(options), safe_unpickling(torch):
            return torch.export.load(path)
    except UnsafePickleError as e:
        raise ModelLoadError(f"{path}: refusing to load it: {e}") from None
    except Exception as e:
        if isinstance(e.__cause__, UnsafePickleError) or "weights_only" in str(e).lower():
            raise ModelLoadError(
                f"{path}: refusing to load it: it holds pickled Python objects, which can run code "
                "(modelmap loads .pt2 weights with weights_only=True)"
            ) from None
        raise ModelLoadError(f"{path} is not a torch.export .pt2 archive ({failure_reason(e)})") from None


class UnsafePickleError(Exception):
    """A .pt2 archive asked to unpickle an arbitrary Python object."""


@contextlib.contextmanager
def safe_unpickling(torch: Any) -> Iterator[None]:
    """While loading an archive: ``torch.load`` only with ``weights_only=True``, no raw pickle.

    ``torch.export``'s loader looks these up as module attributes at call time, so
    replacing the attributes for the duration of the load is enough.
    """
    import pickle
    import types

    from torch.export.pt2_archive import _package

    real_load = torch.load

    def weights_only_load(*args: Any, **kwargs: Any) -> Any:
        kwargs["weights_only"] = True
        return real_load(*args, **kwargs)

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise UnsafePickleError("it holds pickled custom Python objects, which can run code when loaded")

    safe_pickle = types.SimpleNamespace(**{k: getattr(pickle, k) for k in dir(pickle) if not k.startswith("__")})
    safe_pickle.loads = refuse
    safe_pickle.load = refuse
    saved = (torch.load, _package.pickle, torch._C._pickle_load_obj)
    torch.load, _package.pickle, torch._C._pickle_load_obj = weights_only_load, safe_pickle, refuse
    try:
        yield
    finally:
        torch.load, _package.pickle, torch._C._pickle_load_obj = saved


# ----------------------------------------------------------------------------- routes


def convert_module(model: Any, example_input: Any, options: ConvertOptions) -> Any:
    """Record layers, export (dynamo, else TorchScript), tidy and annotate a module."""
    what = type(model).__name__
    args, kwargs = example_args(example_input, options, what)
    kwargs = without_cache_output(model, kwargs)
    with eval_mode(model):
        layers = record_layers(model, args, kwargs, options)
        try:
            with step(f"exporting {what} with the dynamo exporter", options), quiet(options):
                ir_model = export_dynamo(model, args, kwargs, options)
            route = ROUTE_DYNAMO
        except Exception as dynamo_error:
            ir_model = export_with_fallback(model, args, kwargs, options, dynamo_error)
            route = ROUTE_TORCHSCRIPT
    param_names = {name for name, _ in model.named_parameters(remove_duplicate=False)}
    if route == ROUTE_DYNAMO:
        proto = tidy(ir_model, param_names, options)
        annotate_from_scopes(proto)
    else:
        proto = tidy(ir_model, {f"{_ADAPTER_ROOT}.{n}" for n in param_names}, options)
        strip_adapter_names(proto)
        annotate_from_node_names(proto, model)
    fill_from_neighbours(proto)
    md.set_model_info(proto, "pytorch", route, layers)
    return proto


def without_cache_output(model: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Ask a ``transformers`` model not to return its key/value cache.

    With ``use_cache`` on (GPT-2's default) the output holds a ``DynamicCache``
    object, which the dynamo exporter cannot flatten; the cache is an inference
    convenience, not part of the architecture. Only when the model's ``forward``
    takes ``use_cache``, its config turns it on and the caller did not choose.

    >>> class M:
    ...     config = type("C", (), {"use_cache": True})()
    ...     def forward(self, input_ids, use_cache=None): ...
    >>> without_cache_output(M(), {"input_ids": 1})
    {'input_ids': 1, 'use_cache': False}
    >>> without_cache_output(M(), {"input_ids": 1, "use_cache": True})
    {'input_ids': 1, 'use_cache': True}
    """
    import inspect

    if "use_cache" in kwargs or not getattr(getattr(model, "config", None), "use_cache", False):
        return kwargs
    try:
        accepts = "use_cache" in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return kwargs
    return {**kwargs, "use_cache": False} if accepts else kwargs


def convert_exported_program(program: Any, options: ConvertOptions) -> Any:
    """Export an ``ExportedProgram`` with the dynamo exporter (no fallback exists)."""
    try:
        with step("exporting the ExportedProgram with the dynamo exporter", options), quiet(options):
            ir_model = export_dynamo(program, (), {}, options)
    except Exception as e:
        raise ConversionError(f"torch.onnx cannot export the ExportedProgram: {failure_reason(e)}") from e
    proto = tidy(ir_model, set(program.graph_signature.parameters), options)
    annotate_from_scopes(proto)
    fill_from_neighbours(proto)
    md.set_model_info(proto, "pytorch", ROUTE_DYNAMO, layers_from_program(program))
    return proto


def export_with_fallback(model: Any, args: tuple, kwargs: dict, options: ConvertOptions, dynamo_error: Exception) -> Any:
    """Try the TorchScript exporter after the dynamo exporter failed; warn if it works.

    Raises
    ------
    ConversionError
        The TorchScript exporter failed too; the message gives both reasons.
    """
    what = type(model).__name__
    dynamo_reason = failure_reason(dynamo_error)
    try:
        with step(f"exporting {what} with the TorchScript exporter", options), quiet(options):
            ir_model = export_torchscript(model, args, kwargs, options)
    except Exception as e:
        raise ConversionError(
            f"torch.onnx cannot export {what}: dynamo exporter: {dynamo_reason}; "
            f"TorchScript exporter: {failure_reason(e)}"
        ) from e
    print(
        f"modelmap: warning: dynamo export failed ({dynamo_reason}); used the TorchScript exporter",
        file=sys.stderr,
        flush=True,
    )
    return ir_model


def export_dynamo(target: Any, args: tuple, kwargs: dict, options: ConvertOptions) -> Any:
    """``torch.onnx.export(dynamo=True, optimize=False)``; returns the ``onnx_ir`` model."""
    import torch

    from ._torch_compat import math_attention, translations

    with math_attention():
        program = torch.onnx.export(
            target,
            args,
            kwargs=kwargs or None,
            custom_translation_table=translations(),
            dynamo=True,
            optimize=False,
            external_data=False,
            opset_version=options.opset,
            verbose=options.verbose,
        )
    return program.model


def export_torchscript(model: Any, args: tuple, kwargs: dict, options: ConvertOptions) -> Any:
    """The TorchScript exporter on a positional adapter; returns the ``onnx_ir`` model.

    Constant folding is left to :func:`tidy` (the exporter's own would fuse BatchNorm
    into Conv), and initializers are kept as inputs so that the exporter does not merge
    equal-valued weights of different layers; :func:`tidy` removes them from the inputs.
    """
    import onnx
    import onnx_ir as ir
    import torch

    adapter = positional_adapter(model, list(kwargs))
    buffer = io.BytesIO()
    torch.onnx.export(
        adapter,
        tuple(args) + tuple(kwargs.values()),
        buffer,
        dynamo=False,
        do_constant_folding=False,
        keep_initializers_as_inputs=True,
        input_names=input_names(model, len(args), list(kwargs)),
        opset_version=options.opset,
        verbose=options.verbose,
    )
    return ir.serde.deserialize_model(onnx.load_from_string(buffer.getvalue()))


def positional_adapter(model: Any, kwarg_names: list[str]) -> Any:
    """Wrap ``model`` (as child ``model``) to take positional tensors and return a flat tuple.

    The TorchScript exporter neither passes keyword arguments reliably nor returns
    dataclass outputs; keyword arguments follow the positional ones, in ``kwarg_names``
    order. Outputs are flattened with ``torch.utils._pytree`` (transformers registers
    ``ModelOutput`` there), the order the dynamo exporter uses too.
    """
    import torch
    from torch.utils import _pytree

    class PositionalAdapter(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.add_module(_ADAPTER_ROOT, model)

        def forward(self, *inputs: Any) -> tuple[Any, ...]:
            cut = len(inputs) - len(kwarg_names)
            out = model(*inputs[:cut], **dict(zip(kwarg_names, inputs[cut:])))
            return tuple(t for t in _pytree.tree_leaves(out) if isinstance(t, torch.Tensor))

    return PositionalAdapter()


def input_names(model: Any, n_args: int, kwarg_names: list[str]) -> list[str]:
    """Graph input names: ``forward``'s parameter names for positional args, then the keywords."""
    import inspect

    try:
        params = inspect.signature(model.forward).parameters.values()
        named = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        named = []
    positional = [named[i] if i < len(named) else f"input_{i}" for i in range(n_args)]
    return positional + kwarg_names


def strip_adapter_names(proto: Any) -> None:
    """Drop the adapter's ``model`` level from names (``model.conv.weight``, ``/model/conv/Conv``)."""
    graph = proto.graph
    taken = {i.name for i in graph.input} | {o for n in graph.node for o in n.output}
    renamed = {}
    for init in graph.initializer:
        short = init.name[len(_ADAPTER_ROOT) + 1 :]
        if init.name.startswith(f"{_ADAPTER_ROOT}.") and short not in taken:
            renamed[init.name] = short
    for name in taken:
        if name.startswith(f"/{_ADAPTER_ROOT}/"):
            renamed[name] = name[len(_ADAPTER_ROOT) + 1 :]
    rename_values(proto, renamed)
    for node in graph.node:
        if node.name.startswith(f"/{_ADAPTER_ROOT}/"):
            node.name = node.name[len(_ADAPTER_ROOT) + 1 :]


def rename_values(proto: Any, renamed: dict[str, str]) -> None:
    """Rename values (initializers, node inputs and outputs, value_info, graph outputs)."""
    graph = proto.graph
    for init in graph.initializer:
        init.name = renamed.get(init.name, init.name)
    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = renamed.get(name, name)
        for i, name in enumerate(node.output):
            node.output[i] = renamed.get(name, name)
    for vi in (*graph.value_info, *graph.output):
        vi.name = renamed.get(vi.name, vi.name)


@contextlib.contextmanager
def eval_mode(model: Any) -> Iterator[None]:
    """Put every module in eval mode, and restore each one's own flag afterwards."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, training in flags:
            m.training = training


# ----------------------------------------------------------------------------- errors


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_REASONS = (
    (re.compile(r"No ONNX function found for <OpOverload\(op='([^']+)'"), "no ONNX translation for {0}"),
    (re.compile(r"Exporting the operator '([^']+)' to ONNX opset version (\d+) is not supported"),
     "no ONNX symbolic for {0} (opset {1})"),
)


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (ANSI colours removed), at most 300 characters."""
    lines = [line.strip() for line in _ANSI.sub("", str(exc)).splitlines() if line.strip()]
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


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
        text = _ANSI.sub("", str(e))
        for pattern, template in _REASONS:
            m = pattern.search(text)
            if m:
                return template.format(*m.groups())
    return first_line(chain[-1])


# ----------------------------------------------------------------------------- layers


def record_layers(model: Any, args: tuple, kwargs: dict, options: ConvertOptions) -> list[md.LayerRecord]:
    """Run the model once with hooks and list the modules whose ``forward`` ran.

    The fused fast paths of ``nn.MultiheadAttention`` and the transformer layers are
    switched off for this pass: they skip the submodules' ``forward`` (and the export
    traces the unfused path anyway).

    Parameters
    ----------
    model:
        The ``nn.Module``, in eval mode.
    args, kwargs:
        Its example inputs.
    options:
        For quiet output.

    Returns
    -------
    list of LayerRecord
        In call order; ``namespace`` is the call stack of qualified names. Modules
        that own parameters without running come last (see :func:`add_idle_owners`).

    Raises
    ------
    InputError
        The model fails on the example input.
    """
    import torch

    names = {id(m): name for name, m in model.named_modules()}
    stacks: dict[str, tuple[str, ...]] = {}
    with quiet(options), recording_hooks(model, names, stacks), no_fastpath():
        try:
            with torch.no_grad():
                model(*args, **kwargs)
        except Exception as e:
            raise InputError(
                f"running {type(model).__name__} on the example input failed ({first_line(e)}); "
                "check the example input or --input-shape"
            ) from e
    owners = parameter_owners(model)
    add_idle_owners(stacks, set(owners.values()))
    modules = dict(model.named_modules())
    records = [layer_record(modules[name], name, stack, owners) for name, stack in stacks.items()]
    return [r for r in records if r.name or r.params]


def add_idle_owners(stacks: dict[str, tuple[str, ...]], owners: set[str]) -> None:
    """Add modules that own parameters but whose ``forward`` did not run.

    ``nn.MultiheadAttention`` reads ``out_proj.weight`` without calling ``out_proj``;
    such a module is listed after the ones that ran, under its nearest ancestor that
    ran, so that the records' parameters add up to the model's.
    """
    for name in sorted(owners - set(stacks)):
        parent = name
        while parent and parent not in stacks:
            parent = parent.rpartition(".")[0]
        stacks[name] = (*stacks.get(parent, ()), name)


@contextlib.contextmanager
def recording_hooks(model: Any, names: dict[int, str], stacks: dict[str, tuple[str, ...]]) -> Iterator[None]:
    """Hooks that fill ``stacks``: qualified name -> call stack at its first call."""
    stack: list[str] = []

    def enter(module: Any, _args: Any) -> None:
        name = names.get(id(module))
        if name is not None:
            stack.append(name)
            stacks.setdefault(name, tuple(s for s in stack if s))

    def leave(module: Any, _args: Any, _out: Any) -> None:
        if id(module) in names and stack:
            stack.pop()

    handles = []
    for m in model.modules():
        handles.append(m.register_forward_pre_hook(enter))
        handles.append(m.register_forward_hook(leave, always_call=True))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


@contextlib.contextmanager
def no_fastpath() -> Iterator[None]:
    """Switch off torch's fused attention/transformer fast path for a while."""
    import torch

    mha = getattr(torch.backends, "mha", None)
    if mha is None or not hasattr(mha, "set_fastpath_enabled"):
        yield
        return
    before = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        mha.set_fastpath_enabled(before)


def parameter_owners(model: Any) -> dict[int, str]:
    """Parameter id -> the first module (``named_modules()`` order) holding it directly."""
    owners: dict[int, str] = {}
    for name, m in model.named_modules():
        for p in m.parameters(recurse=False):
            owners.setdefault(id(p), name)
    return owners


def layer_record(module: Any, name: str, stack: tuple[str, ...], owners: dict[int, str]) -> md.LayerRecord:
    """The LayerRecord of one module that ran (its own parameters, each counted once)."""
    params = sum(p.numel() for p in module.parameters(recurse=False) if owners.get(id(p)) == name)
    return md.LayerRecord(
        name=name,
        namespace=md.SEP.join(md.clean_segment(s) for s in stack),
        cls=type(module).__name__,
        params=int(params),
        leaf=next(module.children(), None) is None,
    )


def layers_from_program(program: Any) -> list[md.LayerRecord]:
    """LayerRecords of an ExportedProgram, from ``nn_module_stack`` and its parameters.

    Modules that appear in some node's module stack are listed, then those that own
    parameters without appearing (class ``Module``: the program does not say); ``leaf``
    means that no other listed module sits below it. The root module gets a record
    only when it owns parameters directly.
    """
    stacks: dict[str, tuple[tuple[str, ...], str]] = {}
    for node in program.graph.nodes:
        path: list[str] = []
        for qualname, cls in (node.meta.get("nn_module_stack") or {}).values():
            path.append(qualname)
            stacks.setdefault(qualname, (tuple(p for p in path if p), cls))
    params: dict[str, int] = {}
    seen: set[tuple[int, int, tuple[int, ...]]] = set()
    for pname in program.graph_signature.parameters:
        tensor = program.state_dict[pname]
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))
        if key in seen:
            continue  # a tied parameter: counted at its first name
        seen.add(key)
        owner = pname.rpartition(".")[0]
        params[owner] = params.get(owner, 0) + int(tensor.numel())
    paths = {name: stack for name, (stack, _) in stacks.items()}
    add_idle_owners(paths, set(params))
    for name, path in paths.items():
        stacks.setdefault(name, (path, "Module"))
    return [
        md.LayerRecord(
            name=name,
            namespace=md.SEP.join(md.clean_segment(s) for s in stack),
            cls=short_class(cls),
            params=params.get(name, 0),
            leaf=not any(other.startswith(name + ".") for other in stacks) if name else False,
        )
        for name, (stack, cls) in stacks.items()
        if name or params.get("", 0)
    ]


def short_class(qualified: str) -> str:
    """``torch.nn.modules.conv.Conv2d`` -> ``Conv2d``."""
    return str(qualified).rsplit(".", 1)[-1]


# ----------------------------------------------------------------------------- tidy


def tidy(ir_model: Any, param_names: set[str], options: ConvertOptions) -> Any:
    """Fold constants and drop what the exporters leave lying around.

    Folds constants, but no op that reads a model parameter (else a small embedding
    lookup at constant positions, or the transpose of a tied weight, would turn into
    an anonymous initializer and its layer would vanish) and no other rewrite
    (BatchNorm stays). Then drops the all-zero Conv biases the dynamo exporter makes
    up for ``bias=False`` convolutions, removes dead nodes and initializers, lifts
    ``Constant`` nodes into initializers, removes initializers from the graph inputs,
    and prunes ``value_info`` down to intermediate values.

    Parameters
    ----------
    ir_model:
        The exporter's ``onnx_ir`` model; changed in place.
    param_names:
        Initializer names that are model parameters.
    options:
        For quiet output and progress.

    Returns
    -------
    onnx.ModelProto
    """
    import onnx_ir as ir
    import onnx_ir.passes.common as passes
    import onnxscript.optimizer

    with step("folding constants", options), quiet(options):
        passes.RemoveInitializersFromInputsPass()(ir_model)
        onnxscript.optimizer.fold_constants(ir_model, should_fold=reads_no_parameter(param_names))
        drop_zero_conv_bias(ir_model, param_names)
        passes.RemoveUnusedNodesPass()(ir_model)
        passes.LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0)(ir_model)
        passes.RemoveUnusedOpsetsPass()(ir_model)
        proto = ir.serde.serialize_model(ir_model)
    prune_value_info(proto)
    return proto


def reads_no_parameter(param_names: set[str]) -> Any:
    """A ``should_fold`` rule for the folder: never fold an op that reads a parameter's values.

    ``Shape`` and ``Size`` read only a parameter's shape and may fold.
    """

    def should_fold(node: Any) -> bool | None:
        if node.op_type in ("Shape", "Size"):
            return None
        if any(v is not None and v.name in param_names for v in node.inputs):
            return False
        return None

    return should_fold


def drop_zero_conv_bias(ir_model: Any, keep_names: set[str]) -> None:
    """Remove Conv/ConvTranspose bias inputs that are made-up all-zero constants."""
    for node in ir_model.graph:
        if node.op_type not in ("Conv", "ConvTranspose") or len(node.inputs) != 3:
            continue
        bias = node.inputs[2]
        if bias is None or bias.const_value is None or bias.name in keep_names:
            continue
        if not bias.const_value.numpy().any():
            node.resize_inputs(2)


def prune_value_info(proto: Any) -> None:
    """Keep ``value_info`` only for values that nodes produce and that are not graph outputs."""
    graph = proto.graph
    produced = {out for node in graph.node for out in node.output}
    skip = {o.name for o in graph.output}
    keep = [vi for vi in graph.value_info if vi.name in produced and vi.name not in skip]
    del graph.value_info[:]
    graph.value_info.extend(keep)


# ----------------------------------------------------------------------------- annotation


def annotate_from_scopes(proto: Any) -> None:
    """Annotate nodes from the dynamo exporter's ``name_scopes``/``class_hierarchy``."""
    for node in proto.graph.node:
        props = {p.key: p.value for p in node.metadata_props}
        scopes, classes = props.get(SCOPES_KEY), props.get(_CLASSES_KEY)
        kept = [p for p in node.metadata_props if p.key not in _NOISY_KEYS and p.key != md.NAMESPACE]
        del node.metadata_props[:]
        node.metadata_props.extend(kept)
        if scopes is not None:
            namespace, hierarchy = module_levels(scopes, classes)
            md.annotate_node(node, namespace, hierarchy)


def module_levels(scopes: str, classes: str | None) -> tuple[list[str], list[str]]:
    """Module levels of one node: drop the root ``''`` scope and the trailing FX node.

    >>> module_levels("['', 'layer1', 'layer1.0', 'conv2d']", "['N', 'a.Sequential', 'a.Block', 'aten.conv2d.default']")
    (['layer1', 'layer1.0'], ['Sequential', 'Block'])
    """
    names = [str(s) for s in ast.literal_eval(scopes)]
    types = [str(c) for c in ast.literal_eval(classes)] if classes else []
    if len(types) != len(names):
        types = [""] * len(names)
    if names and names[0] == "":
        names, types = names[1:], types[1:]
    names, types = names[:-1], types[:-1]
    return names, [short_class(t) for t in types]


def annotate_from_node_names(proto: Any, model: Any) -> None:
    """Annotate TorchScript-exported nodes from ``/a/b/Op`` names and ``named_modules()``.

    Names are those of :func:`positional_adapter`, after :func:`strip_adapter_names`.
    """
    children = {name: {child for child, _ in m.named_children()} for name, m in model.named_modules()}
    types = {name: type(m).__name__ for name, m in model.named_modules()}
    for node in proto.graph.node:
        parts = [p for p in node.name.split("/") if p]
        if not node.name.startswith("/") or not parts:
            continue  # a node the folder made: fill_from_neighbours names it
        qualified = resolve_scopes(parts[:-1], children)
        md.annotate_node(node, qualified, [types[q] for q in qualified])


def resolve_scopes(segments: list[str], children: dict[str, set[str]]) -> list[str]:
    """Turn TorchScript scope segments into qualified module names.

    A segment names a module relative to the one above it (``conv1``, ``layer.0`` when
    the ModuleList ``layer`` was not called) or relative to that one's parent
    (``layer1/layer1.0``); a repeated call has a ``_N`` suffix (``relu_1``). Resolution
    stops at the first segment that names no module.

    >>> resolve_scopes(["layer1", "layer1.0", "relu_1"], {"": {"layer1"}, "layer1": {"0"}, "layer1.0": {"relu"}, "layer1.0.relu": set()})
    ['layer1', 'layer1.0', 'layer1.0.relu']
    """
    out: list[str] = []
    current = ""
    for seg in segments:
        found = resolve_segment(current, seg, children)
        if found is None:
            break
        out.append(found)
        current = found
    return out


def resolve_segment(current: str, seg: str, children: dict[str, set[str]]) -> str | None:
    """The qualified name of a module below ``current`` that ``seg`` names, if any."""
    candidates = [seg]
    m = re.fullmatch(r"(.*)_\d+", seg)
    if m:
        candidates.append(m.group(1))
    bases = [current]
    while bases[-1]:
        bases.append(bases[-1].rpartition(".")[0])
    for cand in candidates:
        for base in bases:
            qualified = f"{base}.{cand}" if base else cand
            if qualified in children and is_below(qualified, current):
                return qualified
    return None


def is_below(name: str, ancestor: str) -> bool:
    """True if qualified module ``name`` lies strictly below ``ancestor``."""
    return name != ancestor and (not ancestor or name.startswith(ancestor + "."))


def fill_from_neighbours(proto: Any) -> None:
    """Give nodes without annotation (made by the folder) the namespace their neighbours share.

    Readers of a node's outputs count first, producers of its inputs otherwise; the
    deepest common namespace of those is used. Repeats until nothing changes, so
    chains of new nodes are filled too; a node with no annotated neighbour at all
    gets the empty (model-level) namespace.
    """
    nodes = list(proto.graph.node)
    known = {id(n): md.node_namespace(n) for n in nodes if has_namespace(n)}
    producer = {out: n for n in nodes for out in n.output}
    readers: dict[str, list[Any]] = {}
    for n in nodes:
        for name in n.input:
            readers.setdefault(name, []).append(n)
    pending = [n for n in nodes if id(n) not in known]
    while pending:
        still = []
        for n in pending:
            near = [r for out in n.output for r in readers.get(out, ())]
            if not any(id(r) in known for r in near):
                near = [producer[i] for i in n.input if i in producer]
            levels = [known[id(r)] for r in near if id(r) in known]
            if levels:
                known[id(n)] = common_levels(levels)
                md.annotate_node(n, *known[id(n)])
            else:
                still.append(n)
        if len(still) == len(pending):
            break
        pending = still
    for n in pending:  # no annotated neighbour at all: count it as the model's own
        md.annotate_node(n, [], [])


def has_namespace(node: Any) -> bool:
    """True if the node carries a ``namespace`` key (possibly empty: a root-level op)."""
    return any(p.key == md.NAMESPACE for p in node.metadata_props)


def common_levels(levels: list[tuple[tuple[str, ...], tuple[str, ...]]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The longest namespace prefix (with its classes) that all ``levels`` share."""
    names, classes = levels[0]
    depth = len(names)
    for other, _ in levels[1:]:
        depth = min(depth, len(other))
        depth = next((i for i in range(depth) if other[i] != names[i]), depth)
    return names[:depth], classes[:depth]
