"""What every exporter is: a name, file extensions, a text generator and a thin writer."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelmap._io import atomic_write

from ._options import DrawOptions

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis


class DrawingWarning(UserWarning):
    """An output was simplified to fit its format (folded, collapsed or cut), or a
    renderer reported a problem. The CLI shows each as one ``modelmap: warning:`` line."""


Generator = Callable[["Analysis", DrawOptions], "str | bytes"]


@dataclass(frozen=True)
class Exporter:
    """One output format.

    ``generate(analysis, options)`` returns the file's whole content (``str`` for text
    formats, ``bytes`` for binary ones) and never touches the disk; :meth:`write`
    only puts that content in place, atomically, so a failure leaves no file.
    Plug-ins register an instance in :data:`modelmap.exporters.registry` from the
    ``modelmap.exporters`` entry-point group.
    """

    name: str
    extensions: tuple[str, ...]
    generate: Generator
    description: str = ""

    def write(self, analysis: Analysis, path: str | os.PathLike[str], options: DrawOptions) -> list[Path]:
        """Generate, then write ``path`` atomically; returns the files written."""
        data = self.generate(analysis, options)
        return [atomic_write(path, data)]


__all__ = ["DrawingWarning", "Exporter", "Generator"]
