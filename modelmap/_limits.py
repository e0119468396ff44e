"""What modelmap accepts from a file before reading it: the kind of file, its size, and for
zip archives (``.keras``, ``.pt2``) the sizes and number of their entries.

Every limit has a default generous for real models and an environment variable that
raises it; the error a limit raises names the variable. Checks are made before a framework
is imported, so a hostile file costs nothing but a ``stat`` and the zip's directory.

======================================  ==========  ==============================================
variable                                default     what it bounds
======================================  ==========  ==============================================
``MODELMAP_MAX_FILE_BYTES``             8 GiB       a model file (an ``.onnx`` file is at most 2 GiB
                                                    anyway: protobuf's own limit)
``MODELMAP_MAX_ARCHIVE_BYTES``          8 GiB       the unpacked size of a zip archive
``MODELMAP_MAX_ARCHIVE_ENTRIES``        10,000      the number of files in a zip archive
``MODELMAP_MAX_CONFIG_BYTES``           64 MiB      one unpacked JSON (configuration) file of an archive
``MODELMAP_MAX_ARCHIVE_RATIO``          200         how many times an entry over 16 MiB may unpack its
                                                    compressed size (real weights: about 1; a bomb: 1,000)
``MODELMAP_GRAPHVIZ_NODES``             5,000       boxes handed to Graphviz (above: modules collapsed,
                                                    then refused)
``MODELMAP_GRAPHVIZ_SECONDS``           300         how long Graphviz may take
======================================  ==========  ==============================================
"""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ._errors import InputError, ModelLoadError, ModelNotFoundError


@dataclass(frozen=True)
class Limit:
    """One limit: its environment variable and default."""

    env: str
    default: int

    def value(self) -> int:
        """The limit in force: the variable's value when it is a positive integer, else the default."""
        raw = os.environ.get(self.env, "").strip().replace("_", "")
        if not raw:
            return self.default
        try:
            n = int(raw)
        except ValueError:
            raise InputError(f"{self.env}={raw[:40]!r} is not a whole number") from None
        if n <= 0:
            raise InputError(f"{self.env} must be positive, not {n}")
        return n

    def hint(self) -> str:
        return f"raise the limit with {self.env}=N"


GiB, MiB = 2**30, 2**20
FILE_BYTES = Limit("MODELMAP_MAX_FILE_BYTES", 8 * GiB)
ARCHIVE_BYTES = Limit("MODELMAP_MAX_ARCHIVE_BYTES", 8 * GiB)
ARCHIVE_ENTRIES = Limit("MODELMAP_MAX_ARCHIVE_ENTRIES", 10_000)
CONFIG_BYTES = Limit("MODELMAP_MAX_CONFIG_BYTES", 64 * MiB)
ARCHIVE_RATIO = Limit("MODELMAP_MAX_ARCHIVE_RATIO", 200)
GRAPHVIZ_NODES = Limit("MODELMAP_GRAPHVIZ_NODES", 5_000)
GRAPHVIZ_SECONDS = Limit("MODELMAP_GRAPHVIZ_SECONDS", 300)
ONNX_BYTES = 2 * GiB  # protobuf cannot parse more
RATIO_FLOOR = 16 * MiB  # entries smaller than this may compress as well as they like


def size_text(n: int) -> str:
    """``3221225472`` -> ``'3.0 GiB'``.

    >>> size_text(1536), size_text(3 * 2**30)
    ('1.5 KiB', '3.0 GiB')
    """
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def regular_file(path: str | os.PathLike[str], what: str = "model file", limit: int | None = None) -> int:
    """Check that ``path`` (after symlinks) is a regular file no larger than the limit; return its size.

    A FIFO would block the reader forever and a device (``/dev/zero``) never ends, so
    only regular files are read.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        broken = " (a symlink to nothing)" if path.is_symlink() else ""
        raise ModelNotFoundError(f"no such {what}: {path}{broken}") from None
    except OSError as e:
        raise ModelLoadError(f"cannot read {what} {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
        raise ModelLoadError(f"{path} is {kind}, not a regular file; modelmap reads {what}s only from regular files")
    cap = FILE_BYTES.value() if limit is None else limit
    if st.st_size > cap:
        hint = "" if limit is not None else f"; {FILE_BYTES.hint()}"
        raise ModelLoadError(f"{path} is {size_text(st.st_size)}, more than the {size_text(cap)} a {what} may be{hint}")
    return st.st_size


def check_zip(path: Path, what: str) -> None:
    """Refuse a zip archive whose directory promises too many entries, too many bytes, an
    oversized JSON file or a bomb-like compression ratio, before anything is unpacked.

    Python's ``zipfile`` never unpacks more than an entry's declared size, so the
    directory's sizes bound what a reader can be made to hold.
    """
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
        raise ModelLoadError(f"{path}: not a readable {what} (a zip archive): {e}") from None
    if len(infos) > ARCHIVE_ENTRIES.value():
        raise ModelLoadError(f"{path}: the archive holds {len(infos):,} files, more than the "
                             f"{ARCHIVE_ENTRIES.value():,} allowed; {ARCHIVE_ENTRIES.hint()}")
    total = sum(i.file_size for i in infos)
    if total > ARCHIVE_BYTES.value():
        raise ModelLoadError(f"{path}: the archive unpacks to {size_text(total)}, more than the "
                             f"{size_text(ARCHIVE_BYTES.value())} allowed; {ARCHIVE_BYTES.hint()}")
    ratio = ARCHIVE_RATIO.value()
    for i in infos:
        name = i.filename if len(i.filename) <= 80 else i.filename[:77] + "..."
        if i.filename.endswith(".json") and i.file_size > CONFIG_BYTES.value():
            raise ModelLoadError(f"{path}: {name!r} unpacks to {size_text(i.file_size)}, more than the "
                                 f"{size_text(CONFIG_BYTES.value())} a configuration may be; {CONFIG_BYTES.hint()}")
        if i.file_size > RATIO_FLOOR and i.file_size > ratio * max(i.compress_size, 1):
            raise ModelLoadError(
                f"{path}: {name!r} unpacks {size_text(i.compress_size)} into {size_text(i.file_size)} "
                f"({i.file_size // max(i.compress_size, 1):,} times), like a zip bomb; {ARCHIVE_RATIO.hint()}"
            )


__all__ = ["ARCHIVE_BYTES", "ARCHIVE_ENTRIES", "ARCHIVE_RATIO", "CONFIG_BYTES", "FILE_BYTES", "GRAPHVIZ_NODES",
           "GRAPHVIZ_SECONDS", "ONNX_BYTES", "Limit", "check_zip", "regular_file", "size_text"]
