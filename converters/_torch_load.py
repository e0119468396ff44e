"""Loading ``.pt2`` archives (``torch.export.save``) without running code from them.

``torch.export.load`` is not free of pickle: the graph is JSON, but weights and constants
stored with ``use_pickle`` go through ``torch.load(weights_only=False)``, custom and opaque
objects through ``pickle.loads`` (torch 2.13, ``torch/export/pt2_archive/_package.py``).
modelmap never runs code from a model file, so :func:`safe_unpickling` forces every
``torch.load`` during the load to ``weights_only=True`` (tensors and plain containers only)
and refuses raw pickles of custom objects with one clear error. Archives of ordinary models
load unchanged.
"""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from modelmap._errors import ModelLoadError
from modelmap._limits import check_zip, regular_file

from ._base import ConvertOptions, quiet, step
from ._torch_errors import failure_reason


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
    regular_file(path, ".pt2 file")
    if zipfile.is_zipfile(path):  # torch names other archives' problems itself
        check_zip(Path(path), ".pt2 file")
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
