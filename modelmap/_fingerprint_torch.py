"""The cache key of a PyTorch module (see :mod:`modelmap._fingerprint`); torch comes with the model."""

from __future__ import annotations

from typing import Any

from ._fingerprint import Hasher, Unkeyable, add_attribute, add_classes, add_function

_FLOAT = ("float", "half", "bfloat", "double", "complex")


def add_torch_model(h: Hasher, model: Any, weights: bool) -> None:
    """Feed an ``nn.Module``'s structure, code and (with ``weights``) float weight values to ``h``.

    Raises
    ------
    Unkeyable
        Not an ``nn.Module`` (an ``ExportedProgram``, say).
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise Unkeyable(type(model).__qualname__)
    internal = _module_internals()
    seen: dict[int, str] = {}
    classes: set[type] = set()
    for name, module in model.named_modules(remove_duplicate=False):
        classes.add(type(module))
        h.add("module", name, type(module).__module__, type(module).__qualname__)
        for attr, value in sorted(vars(module).items()):
            if attr not in internal and not isinstance(value, torch.Tensor):
                add_attribute(h, attr, value, seen)
            elif isinstance(value, torch.Tensor) and attr not in internal:
                _add_tensor(h, attr, value, weights, seen)
        for hooks in (module._forward_hooks, module._forward_pre_hooks):
            for hook in hooks.values():
                add_function(h, hook, set())
    for kind, tensors in (("param", model.named_parameters(remove_duplicate=False)),
                          ("buffer", model.named_buffers(remove_duplicate=False))):
        for name, t in tensors:
            _add_tensor(h, f"{kind}:{name}", t, weights, seen)
    add_classes(h, classes)


def _add_tensor(h: Hasher, name: str, t: Any, weights: bool, seen: dict[int, str]) -> None:
    """Shape, dtype, device, sharing; the values of integer tensors always, of float ones with ``weights``."""
    if id(t) in seen:  # a tied weight: one initializer for several names
        h.add(name, "same as", seen[id(t)])
        return
    seen[id(t)] = name
    dtype = str(t.dtype)
    h.add(name, tuple(t.shape), dtype, t.device.type)
    if t.device.type == "meta" or (not weights and any(f in dtype for f in _FLOAT)):
        return
    import torch

    data = t.detach()
    if data.device.type != "cpu":
        data = data.cpu()
    data = data.contiguous()
    if data.dtype.is_floating_point and data.dtype.itemsize == 2:  # numpy has no bfloat16
        data = data.view(torch.int16)
    h.add(memoryview(data.numpy()).cast("B"))


_INTERNALS: set[str] = set()


def _module_internals() -> set[str]:
    """The attribute names every ``nn.Module`` has (parameters, buffers, hooks, ``training``)."""
    if not _INTERNALS:
        import torch

        _INTERNALS.update(vars(torch.nn.Module()))
    return _INTERNALS
