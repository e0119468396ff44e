"""The on-disk cache: content-addressed entries, bounded size, safe to share between processes.

A key is a hex digest of everything that determines an entry's content (built by
:mod:`modelmap._fingerprint`); an entry is never rewritten with other content under the
same key, so it can never be stale. The folder is ``MODELMAP_CACHE`` (``off`` turns the
cache off), else ``$XDG_CACHE_HOME/modelmap``, else ``~/.cache/modelmap``; its size is
bounded by ``MODELMAP_CACHE_SIZE`` (bytes, or ``500MB``, ``2GB``; default 1 GB).

Entries are files named by their key. Writes go to a temporary file in the same folder
and are renamed into place, so a reader sees a whole entry or none, and two processes
writing the same key both leave a valid one (no lock needed). Each entry starts with a
magic string and a digest of its content: a damaged entry reads as a miss and is removed.
A hit touches the entry's modification time; when a write takes the folder over its
bound, the least recently used entries go first.

>>> import tempfile
>>> c = Cache(Path(tempfile.mkdtemp()), max_bytes=10_000)
>>> c.get("ab12") is None
True
>>> c.put("ab12", b"<svg/>", {"warnings": []})
>>> c.get("ab12")
({'warnings': []}, b'<svg/>')
>>> c.hits, c.misses
(1, 1)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("modelmap.cache")

DEFAULT_MAX_BYTES = 1 << 30
_MAGIC = b"MMCACHE1"
_DIGEST = 16
_SUFFIX = ".entry"
_STALE_TEMP_SECONDS = 3600
_KEY = re.compile(r"^[0-9a-f]{4,128}$")
_OFF = {"off", "0", "no", "false", "none"}


class Cache:
    """A folder of entries: :meth:`get` and :meth:`put` by key; ``hits``/``misses`` count lookups.

    An entry is ``(meta, data)``: a small JSON-able dict and the payload bytes. Entries
    larger than a quarter of ``max_bytes`` are not stored (one entry must not flush the rest).
    """

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not a cache key: {key!r}")
        return self.root / f"{key}{_SUFFIX}"

    def get(self, key: str) -> tuple[dict[str, Any], bytes] | None:
        """The entry under ``key``, or None (missing or damaged; a damaged one is removed)."""
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except OSError:
            return self._miss(key)
        entry = _unpack(raw)
        if entry is None:
            log.warning("modelmap cache: damaged entry %s removed", path.name)
            path.unlink(missing_ok=True)
            return self._miss(key)
        try:
            os.utime(path)  # least recently *used*: a hit makes the entry young again
        except OSError:
            pass  # evicted by another process just now; the content read is still whole
        self.hits += 1
        log.debug("hit %s", key)
        return entry

    def _miss(self, key: str) -> None:
        self.misses += 1
        log.debug("miss %s", key)
        return None

    def put(self, key: str, data: bytes, meta: dict[str, Any] | None = None) -> None:
        """Store ``data`` under ``key`` atomically, then evict down to the size bound.

        A cache that cannot be written (read-only folder, full disk) is skipped silently:
        the cache only ever saves time.
        """
        raw = _pack(meta or {}, data)
        if len(raw) > self.max_bytes // 4:
            log.debug("not stored (%d bytes) %s", len(raw), key)
            return
        path = self._path(key)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=_SUFFIX, dir=self.root)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(raw)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as e:
            log.debug("not stored (%s) %s", e, key)
            return
        log.debug("stored %s", key)
        self.evict()

    def evict(self) -> None:
        """Remove least recently used entries until the folder holds at most ``max_bytes``."""
        entries = []
        now = time.time()
        try:
            listing = list(os.scandir(self.root))
        except OSError:
            return
        for e in listing:
            try:
                st = e.stat()
            except OSError:
                continue  # removed by another process meanwhile
            if e.name.startswith(".tmp-"):
                if now - st.st_mtime > _STALE_TEMP_SECONDS:  # left by a killed writer
                    Path(e.path).unlink(missing_ok=True)
                continue
            if e.name.endswith(_SUFFIX):
                entries.append((st.st_mtime_ns, st.st_size, e.path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            Path(path).unlink(missing_ok=True)
            total -= size
            log.debug("evicted %s", Path(path).name)

    def size(self) -> int:
        """Bytes held by entries now."""
        return sum(p.stat().st_size for p in self.root.glob(f"*{_SUFFIX}")) if self.root.is_dir() else 0


def _pack(meta: dict[str, Any], data: bytes) -> bytes:
    head = json.dumps(meta, sort_keys=True).encode()
    body = len(head).to_bytes(4, "big") + head + data
    return _MAGIC + hashlib.blake2b(body, digest_size=_DIGEST).digest() + body


def _unpack(raw: bytes) -> tuple[dict[str, Any], bytes] | None:
    start = len(_MAGIC) + _DIGEST
    if len(raw) < start + 4 or not raw.startswith(_MAGIC):
        return None
    body = memoryview(raw)[start:]
    if hashlib.blake2b(body, digest_size=_DIGEST).digest() != raw[len(_MAGIC):start]:
        return None
    n = int.from_bytes(body[:4], "big")
    try:
        meta = json.loads(bytes(body[4:4 + n]))
    except ValueError:
        return None
    return meta, bytes(body[4 + n:])


def cache_dir() -> Path | None:
    """The cache folder from the environment, or None when ``MODELMAP_CACHE=off``."""
    env = os.environ.get("MODELMAP_CACHE", "").strip()
    if env.lower() in _OFF:
        return None
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "modelmap"


def parse_size(text: str) -> int:
    """``"1073741824"``, ``"500MB"``, ``"2 GB"``, ``"64k"`` -> bytes.

    >>> parse_size("500MB"), parse_size("2GB"), parse_size("1000")
    (524288000, 2147483648, 1000)
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", text.lower())
    if not m:
        raise ValueError(f"MODELMAP_CACHE_SIZE={text!r} is not a size like 1GB or 500MB")
    return int(float(m.group(1)) * 1024 ** " kmgt".index(m.group(2) or " "))


def default_cache() -> Cache | None:
    """The cache the environment asks for, or None when it is turned off."""
    root = cache_dir()
    if root is None:
        return None
    size = os.environ.get("MODELMAP_CACHE_SIZE", "").strip()
    return Cache(root, parse_size(size) if size else DEFAULT_MAX_BYTES)


__all__ = ["Cache", "DEFAULT_MAX_BYTES", "cache_dir", "default_cache", "parse_size"]
