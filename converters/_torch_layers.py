"""The PyTorch layer table: the modules that ran, from one eager pass with hooks.

``modelmap.layers`` lists every module whose ``forward`` ran during one eager pass under
``torch.no_grad()`` (forward hooks), in call order, with the call stack as namespace, so
that it matches the nodes' namespaces. A parameter shared by several modules (tied
embeddings) is counted once, at its first owner in ``named_modules()`` order; the root
module gets a record only when it owns parameters itself. For an ``ExportedProgram`` the
table comes from the program's ``nn_module_stack`` metadata and its state dict instead
(the program cannot be run with hooks).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from modelmap import _metadata as md
from modelmap._errors import InputError, one_line

from ._base import ConvertOptions, quiet
from ._torch_scopes import short_class
from ._torch_weights import fake_mode


def record_layers(
    model: Any, args: tuple, kwargs: dict, options: ConvertOptions, fake: bool = False
) -> list[md.LayerRecord]:
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
    fake:
        Run under a ``FakeTensorMode`` (a model on the meta device: shapes, no values).

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
    inbound: dict[str, list[str]] = {}
    with quiet(options), recording_hooks(model, names, stacks), passthrough_hooks(model, names, inbound), no_fastpath():
        try:
            with torch.no_grad(), fake_mode(fake):
                model(*args, **kwargs)
        except Exception as e:
            reason = one_line(e, 300, first_line=True, typed=True)
            raise InputError(
                f"running {type(model).__name__} on the example input failed ({reason}); "
                "check the example input or --input-shape"
            ) from e
    owners = parameter_owners(model)
    add_idle_owners(stacks, set(owners.values()))
    modules = dict(model.named_modules())
    records = [layer_record(modules[name], name, stack, owners, inbound.get(name, ())) for name, stack in stacks.items()]
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

    with _hooks(model.modules(), enter, leave, always_call=True):
        yield


@contextlib.contextmanager
def passthrough_hooks(model: Any, names: dict[int, str], inbound: dict[str, list[str]]) -> Iterator[None]:
    """Hooks that wire the leaf modules handing on their input unchanged (eval-mode Dropout,
    Identity), which leave no op in the graph: ``inbound`` gets, by qualified name, the
    leaf module whose output such a module handed on, and for every leaf module that
    later reads the tensor handed on, that module. A module handing on what a functional
    op made (GPT-2's ``drop`` after ``wte + wpe``) is not wired: the consumer would keep
    its arrow from that op as well, and the drawing places it (``exporters/_paper``).

    Tensors are matched by identity (weak references, so nothing is kept alive). Only a
    module's first call is wired: the graph has one box for a module that left no op.
    """
    import weakref

    leaves = {id(m) for m in model.modules() if next(m.children(), None) is None}
    made: dict[int, tuple[Any, str]] = {}  # id(tensor) -> (its weakref, the leaf that returned it)
    handed: dict[int, tuple[Any, str]] = {}  # id(tensor) -> (its weakref, the pass-through leaf)
    passed: set[str] = set()  # pass-through leaves wired

    def owner(table: dict[int, tuple[Any, str]], t: Any) -> str | None:
        entry = table.get(id(t))
        return entry[1] if entry is not None and entry[0]() is t else None

    def add(name: str, source: str | None) -> None:
        if source is not None and source != name and source not in inbound.setdefault(name, []):
            inbound[name].append(source)

    def before(module: Any, args: Any, kwargs: Any) -> None:
        name = names.get(id(module))
        if name is not None and id(module) in leaves:
            for t in _tensors(args, kwargs):
                add(name, owner(handed, t))

    def after(module: Any, args: Any, kwargs: Any, out: Any) -> None:
        name = names.get(id(module))
        if name is None or id(module) not in leaves:
            return
        outs = list(_tensors(out))
        if len(outs) == 1 and any(outs[0] is t for t in _tensors(args, kwargs)):
            if name in passed:
                return  # a later call: T5's stack dropout runs first and last
            passed.add(name)
            producer = owner(made, outs[0])
            if producer is not None:  # else a functional op made it: the table cannot say which
                add(name, producer)
                handed[id(outs[0])] = (weakref.ref(outs[0]), name)
            return
        for t in outs:
            made[id(t)] = (weakref.ref(t), name)

    with _hooks((m for m in model.modules() if id(m) in leaves), before, after, with_kwargs=True):
        yield


@contextlib.contextmanager
def _hooks(modules: Iterable[Any], pre: Any, post: Any, *, with_kwargs: bool = False, always_call: bool = False) -> Iterator[None]:
    """``pre`` and ``post`` as forward pre-hooks and forward hooks of ``modules``, removed on exit."""
    handles = []
    for m in modules:
        handles.append(m.register_forward_pre_hook(pre, with_kwargs=with_kwargs))
        handles.append(m.register_forward_hook(post, with_kwargs=with_kwargs, always_call=always_call))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def _tensors(*objs: Any) -> Iterator[Any]:
    """The tensors among ``objs``, in tuples, lists and dict values one level down."""
    import torch

    for obj in objs:
        items = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (tuple, list)) else (obj,)
        for item in items:
            if isinstance(item, torch.Tensor):
                yield item


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


def layer_record(
    module: Any, name: str, stack: tuple[str, ...], owners: dict[int, str], inbound: Any = ()
) -> md.LayerRecord:
    """The LayerRecord of one module that ran (its own parameters, each counted once)."""
    params = sum(p.numel() for p in module.parameters(recurse=False) if owners.get(id(p)) == name)
    return md.LayerRecord(
        name=name,
        namespace=md.SEP.join(md.clean_segment(s) for s in stack),
        cls=type(module).__name__,
        params=int(params),
        leaf=next(module.children(), None) is None,
        inbound=tuple(inbound),
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
        storage = id(tensor) if tensor.is_meta else tensor.untyped_storage().data_ptr()  # meta: no storage
        key = (storage, tensor.storage_offset(), tuple(tensor.shape))
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
