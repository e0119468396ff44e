"""The weights report: per-layer histograms and heatmaps on one HTML page.

:func:`write_weights_report` writes a folder::

    DIR/index.html       the page: a table of per-layer statistics, then every layer's
                         tensors with their histogram and heatmap
    DIR/weights.json     the statistics as data (:meth:`WeightStats.to_dict`)
    DIR/t000_hist.png    one histogram per weight tensor
    DIR/t000_heat.png    one heatmap per 2-D or 4-D tensor (1x1 convolutions count as 2-D)

File names are generated, never taken from layer names; every name on the page goes
through :func:`~modelmap.exporters._escape.xml_text`, and the page carries a Content
Security Policy that forbids scripts, so a hostile layer name stays inert text.

The folder is built next to ``DIR`` under a temporary name and renamed into place when
complete: a failure leaves no half-written report. An existing ``DIR`` is replaced only
if it is empty or an earlier report (it holds ``weights.json`` and ``index.html``).

Pictures are drawn with matplotlib's Agg canvas on ``matplotlib.figure.Figure`` objects,
imported on first use; pyplot and its global state are never touched.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelmap._errors import InputError, MissingDependencyError
from modelmap.core.weights import (
    TensorStats,
    WeightOptions,
    WeightStats,
    WeightTensor,
    collect_layers,
    iter_weights,
    stats_for,
)

from ._escape import xml_text

MARKER = "weights.json"


@dataclass(frozen=True)
class ReportOptions:
    """What the report shows.

    ``weights``
        How statistics are computed (:class:`~modelmap.core.weights.WeightOptions`).
    ``max_tiles``
        At most this many kernel tiles per convolution heatmap (the first output channels
        times the first input channels; depthwise kernels: the first channels).
    ``max_side``
        A matrix heatmap shows at most this many rows and columns, evenly spaced.
    ``dpi``
        Resolution of the PNG files.
    ``title``
        The page title; the model's name when None.
    """

    weights: WeightOptions = field(default_factory=WeightOptions)
    max_tiles: int = 256
    max_side: int = 256
    dpi: int = 80
    title: str | None = None

    def __post_init__(self) -> None:
        for name in ("max_tiles", "max_side", "dpi"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"{name} must be a positive integer, not {value!r}")


@dataclass(frozen=True)
class Picture:
    """One PNG of the report: its file name, what it shows, its size, and a caveat if any."""

    file: str
    alt: str
    width: int
    height: int
    note: str = ""


@dataclass(frozen=True)
class TensorEntry:
    stats: TensorStats
    histogram: Picture
    heatmap: Picture | None = None


@dataclass(frozen=True)
class Report:
    """What :func:`write_weights_report` wrote."""

    directory: Path
    stats: WeightStats
    pictures: tuple[Picture, ...]


# --------------------------------------------------------------------------- pictures


def _mpl() -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise MissingDependencyError(
            f"matplotlib is not installed ({e}); install it with: pip install 'modelmap[all]'"
        ) from None
    return Figure, FigureCanvasAgg


def _png(fig: Any, canvas: Any, dpi: int) -> tuple[bytes, int, int]:
    """The figure as PNG bytes, with its pixel size."""
    import io

    fig.set_dpi(dpi)
    width, height = canvas.get_width_height()
    buf = io.BytesIO()
    canvas.print_png(buf)
    return buf.getvalue(), int(width), int(height)


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if x == 0:
        return "0"
    if abs(x) >= 1e4 or abs(x) < 1e-3:
        return f"{x:.3e}"
    return f"{x:.4f}"


class HistogramPainter:
    """Draws histograms on one reused figure: only the data, limits and title change per
    picture, which is several times faster than a new figure each time."""

    def __init__(self, dpi: int = 80) -> None:
        Figure, Canvas = _mpl()
        from matplotlib.ticker import MaxNLocator

        self.dpi = dpi
        self.fig = Figure(figsize=(4.0, 2.4), dpi=dpi)
        self.canvas = Canvas(self.fig)
        ax = self.ax = self.fig.add_subplot(1, 1, 1)
        self.bars = ax.stairs([0.0], [0.0, 1.0], fill=True, color="#4477aa", alpha=0.85)
        ax.axvline(0.0, color="#999999", linewidth=0.8, linestyle=":")
        ax.tick_params(labelsize=7)  # no axis labels (values across, counts up): they double the drawing time
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
        self.title = ax.set_title("", fontsize=8)
        self.fig.subplots_adjust(left=0.14, right=0.97, bottom=0.12, top=0.88)  # fixed: tight_layout costs a draw

    def png(self, stats: TensorStats) -> tuple[bytes, int, int]:
        h = stats.histogram
        counts = np.asarray(h.counts, dtype=float)
        edges = np.asarray(h.edges, dtype=float)
        self.bars.set_data(counts, edges)
        lo, hi = float(edges[0]), float(edges[-1])
        pad = (hi - lo) * 0.03 or 0.5
        self.ax.set_xlim(lo - pad, hi + pad)
        self.ax.set_ylim(0, max(float(counts.max(initial=0)), 1.0) * 1.08)
        shape = "x".join(str(d) for d in stats.shape)
        title = f"{stats.role} ({shape})"
        if stats.sampled:
            title += f", sample of {stats.histogram_values:,}"
        self.title.set_text(title)
        return _png(self.fig, self.canvas, self.dpi)


def histogram_png(stats: TensorStats, dpi: int = 80) -> tuple[bytes, int, int]:
    """A bar histogram of one tensor's values (from ``stats.histogram``)."""
    return HistogramPainter(dpi).png(stats)


def _matrix_view(a: np.ndarray, max_side: int) -> tuple[np.ndarray, str]:
    rows, cols = a.shape
    note = []
    if rows > max_side:
        a = a[np.linspace(0, rows - 1, max_side).round().astype(int)]
        note.append(f"{max_side} of {rows} rows")
    if cols > max_side:
        a = a[:, np.linspace(0, cols - 1, max_side).round().astype(int)]
        note.append(f"{max_side} of {cols} columns")
    return a, ("showing " + " and ".join(note) + ", evenly spaced") if note else ""


def _tile_view(w: np.ndarray, max_tiles: int) -> tuple[np.ndarray, str]:
    """Kernels ``(out, in, kh, kw)`` as one image of ``kh x kw`` tiles with NaN gutters.

    Each output channel is a strip of its input channels' tiles (at most 16); as many
    strips share a row as make the picture roughly square, so that few input channels (an
    RGB stem, a depthwise kernel) do not give a thin column. At most ``max_tiles``
    tiles: the first output channels and the first input channels.
    """
    o, i, kh, kw = w.shape
    per_strip, strips, per_row = _tile_layout(w.shape, max_tiles)
    grid_rows = int(math.ceil(strips / per_row))
    gap = 2 if per_row > 1 else 1  # a wider gutter between the output channels of a row
    strip_w = per_strip * (kw + 1) - 1
    img = np.full((grid_rows * (kh + 1) - 1, per_row * (strip_w + gap) - gap), np.nan, dtype=np.float32)
    for r in range(strips):
        gr, gs = divmod(r, per_row)
        y = gr * (kh + 1)
        for c in range(per_strip):
            x = gs * (strip_w + gap) + c * (kw + 1)
            img[y : y + kh, x : x + kw] = w[r, c]
    note = ""
    if strips < o or per_strip < i:
        note = f"showing output channels 0-{strips - 1} x input channels 0-{per_strip - 1} of {o} x {i}"
    return img, note


def _tile_layout(shape: tuple[int, ...], max_tiles: int) -> tuple[int, int, int]:
    """(input tiles per strip, strips = output channels shown, strips per row)."""
    o, i, kh, kw = shape
    per_strip = min(i, 16, max_tiles)
    strips = min(o, max(1, max_tiles // per_strip))
    per_row = round(math.sqrt(strips * (kh + 1) / (per_strip * (kw + 1))))
    return per_strip, strips, max(1, min(strips, per_row))


def tile_caption(shape: tuple[int, ...], max_tiles: int) -> str:
    """What the tile grid of a kernel of ``shape`` shows, in words."""
    per_strip, _, per_row = _tile_layout(tuple(shape), max_tiles)
    if per_row > 1:
        return f"{per_row} output channels per row, each a strip of {per_strip} input-channel tile(s)"
    return f"rows: output channels, columns: {per_strip} input channels"


def heatmap_view(array: np.ndarray, options: ReportOptions) -> tuple[np.ndarray, str, str] | None:
    """The 2-D image a heatmap shows, a caveat, and axis labels; None for other ranks.

    2-D tensors are shown as ``(out, in)`` matrices; 4-D convolution kernels as a grid of
    kernel tiles (rows: output channels, columns: input channels), except 1x1 kernels,
    shown as a matrix. Other ranks get no heatmap.
    """
    a = np.asarray(array, dtype=np.float32)
    if a.ndim == 4 and a.shape[2] * a.shape[3] == 1:
        a = a.reshape(a.shape[0], a.shape[1])
    if a.ndim == 2:
        img, note = _matrix_view(a, options.max_side)
        return img, note, "matrix"
    if a.ndim == 4:
        img, note = _tile_view(a, options.max_tiles)
        return img, note, "tiles"
    return None


def heatmap_png(img: np.ndarray, layout: str, title: str, dpi: int = 80, caption: str = "") -> tuple[bytes, int, int]:
    """A diverging heatmap centred on 0, one colour scale for the whole picture."""
    Figure, Canvas = _mpl()
    finite = img[np.isfinite(img)]
    vmax = float(np.max(np.abs(finite))) if finite.size else 1.0
    vmax = vmax or 1.0
    rows, cols = img.shape
    aspect = rows / max(cols, 1)
    width = 4.6
    height = min(max(2.2, width * 0.85 * aspect + 0.6), 6.0)
    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot(1, 1, 1)
    masked = np.ma.masked_invalid(img)
    from matplotlib import colormaps

    cmap = colormaps["RdBu_r"].with_extremes(bad="#c8c8c8")  # grey gutters between kernel tiles
    im = ax.imshow(masked, cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest", aspect="equal" if layout == "tiles" else "auto")
    ax.set_facecolor("white")
    if layout == "tiles":
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(caption, fontsize=7)
    else:
        ax.set_xlabel("in", fontsize=8)
        ax.set_ylabel("out", fontsize=8)
        ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=8)
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cb.ax.tick_params(labelsize=7)
    fig.subplots_adjust(left=0.12, right=0.92, bottom=0.1, top=0.9)
    return _png(fig, Canvas(fig), dpi)


# --------------------------------------------------------------------------- the page


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ddd;padding:.2em .5em}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#8a5a00;font-size:.85em}.pics{display:flex;flex-wrap:wrap;gap:.8em;align-items:flex-start}
figure{margin:0}figcaption{font-size:.75em;max-width:380px;word-break:break-all}
code{word-break:break-all}
"""

_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


def _img(p: Picture) -> str:
    cap = xml_text(p.alt) + (f'<br><span class="note">{xml_text(p.note)}</span>' if p.note else "")
    return (
        f'<figure><img src="{xml_text(p.file)}" width="{p.width}" height="{p.height}" alt="{xml_text(p.alt)}">'
        f"<figcaption>{cap}</figcaption></figure>"
    )


def generate_html(
    title: str,
    stats: WeightStats,
    entries: dict[str, list[TensorEntry]],
    notes: Iterable[str] = (),
    framework: str = "",
) -> str:
    """The report page as text. ``entries`` maps layer names to their tensors' pictures."""
    e = xml_text
    opts = stats.options
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        f"<title>{e(title)}: weights</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Weights of {e(title)}</h1>",
        "<p>"
        + (f"{e(framework)} model, " if framework else "")
        + f"{len(stats.layers)} layers with weights, {len(stats.tensors)} tensors, {stats.count:,} values. "
        + f"Near zero means |w| &le; {e(_fmt(opts.near_zero))}.</p>",
    ]
    for note in notes:
        out.append(f'<p class="note">{e(note)}</p>')
    out.append("<h2>Per layer</h2>")
    out.append(
        "<table><thead><tr><th>#</th><th>layer</th><th>type</th><th>tensors</th><th>values</th>"
        "<th>mean</th><th>std</th><th>min</th><th>max</th><th>near zero</th></tr></thead><tbody>"
    )
    for i, layer in enumerate(stats.layers):
        out.append(
            f'<tr><td class="n">{i}</td><td><a href="#L{i}"><code>{e(layer.layer)}</code></a></td>'
            f"<td>{e(layer.type)}</td><td class=\"n\">{len(layer.tensors)}</td><td class=\"n\">{layer.count:,}</td>"
            f'<td class="n">{_fmt(layer.mean)}</td><td class="n">{_fmt(layer.std)}</td>'
            f'<td class="n">{_fmt(layer.min)}</td><td class="n">{_fmt(layer.max)}</td>'
            f'<td class="n">{_pct(layer.near_zero)}</td></tr>'
        )
    out.append("</tbody></table>")
    for i, layer in enumerate(stats.layers):
        out.append(f'<h2 id="L{i}">{i}. <code>{e(layer.layer)}</code> <small>({e(layer.type)})</small></h2>')
        out.append(
            "<table><thead><tr><th>tensor</th><th>role</th><th>shape</th><th>dtype</th><th>mean</th><th>std</th>"
            "<th>min</th><th>max</th><th>near zero</th></tr></thead><tbody>"
        )
        layer_entries = entries.get(layer.layer, [])
        for t in layer.tensors:
            extra = ""
            if t.shared_with:
                extra = f'<br><span class="note">also read by {e(", ".join(t.shared_with))}</span>'
            if t.nonfinite:
                extra += f'<br><span class="note">{t.nonfinite:,} NaN/inf values left out</span>'
            out.append(
                f"<tr><td><code>{e(t.name)}</code>{extra}</td><td>{e(t.role)}</td>"
                f"<td>{e('x'.join(str(d) for d in t.shape))}</td><td>{e(t.dtype)}</td>"
                f'<td class="n">{_fmt(t.mean)}</td><td class="n">{_fmt(t.std)}</td>'
                f'<td class="n">{_fmt(t.min)}</td><td class="n">{_fmt(t.max)}</td>'
                f'<td class="n">{_pct(t.near_zero)}</td></tr>'
            )
        out.append("</tbody></table>")
        out.append('<div class="pics">')
        for entry in layer_entries:
            out.append(_img(entry.histogram))
            if entry.heatmap is not None:
                out.append(_img(entry.heatmap))
        out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _pct(x: float) -> str:
    if x is None or math.isnan(x):
        return "n/a"
    return f"{100 * x:.1f}%"


# --------------------------------------------------------------------------- writing


def check_target(directory: str | os.PathLike[str]) -> None:
    """Raise an InputError unless ``directory`` can take a report (new, empty, or an earlier report)."""
    directory = Path(directory)
    if directory.exists():
        if not directory.is_dir():
            raise InputError(f"{directory} exists and is not a folder; choose a new or empty folder for the report")
        contents = list(directory.iterdir())
        if contents and not ((directory / MARKER).is_file() and (directory / "index.html").is_file()):
            raise InputError(
                f"{directory} is not empty and holds no earlier weights report; choose a new or empty folder"
            )


def _replace_dir(tmp: Path, directory: Path) -> None:
    """Move the finished ``tmp`` folder to ``directory``, replacing an earlier report."""
    old = None
    if directory.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
        os.replace(directory, old / "report")
    try:
        os.replace(tmp, directory)
    except BaseException:
        if old is not None:
            os.replace(old / "report", directory)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def build_report(
    analysis: Any, options: ReportOptions | None = None
) -> tuple[WeightStats, dict[str, list[TensorEntry]], dict[str, bytes], list[str]]:
    """Compute statistics and draw every picture in memory.

    Returns ``(stats, entries by layer, file name -> PNG bytes, notes for the page)``.
    """
    options = options or ReportOptions()
    wopts = options.weights
    files: dict[str, bytes] = {}
    entries: dict[str, list[TensorEntry]] = {}
    by_layer: dict[str, list[TensorStats]] = {}
    sampled: set[str] = set()
    capped: set[str] = set()
    painter = HistogramPainter(options.dpi)
    cache: dict[str, TensorStats] = {}
    drawn: dict[str, tuple[Picture, Picture | None]] = {}  # tensor -> its pictures (drawn once)
    for w in iter_weights(analysis):
        s = stats_for(w, wopts, cache)
        by_layer.setdefault(w.layer, []).append(s)
        if w.name not in drawn:
            idx = len(drawn)
            hist_file = f"t{idx:04d}_hist.png"
            data, width, height = painter.png(s)
            files[hist_file] = data
            hist_note = (
                f"histogram of a uniform sample of {s.histogram_values:,} of {s.count - s.nonfinite:,} values"
                if s.sampled
                else ""
            )
            hist = Picture(hist_file, f"histogram of {w.name} ({w.role})", width, height, hist_note)
            heat = _heatmap(idx, w, options, files)
            drawn[w.name] = (hist, heat)
            if s.sampled:
                sampled.add(w.name)
            if heat is not None and heat.note:
                capped.add(w.name)
        hist, heat = drawn[w.name]
        entries.setdefault(w.layer, []).append(TensorEntry(s, hist, heat))
    stats = collect_layers(analysis, by_layer, wopts)
    notes = []
    if sampled:
        notes.append(
            f"{len(sampled)} tensor(s) have more than {wopts.max_hist_values:,} values: their histograms are drawn "
            f"from a uniform sample of {wopts.max_hist_values:,} values; the statistics in the tables use every value."
        )
    if capped:
        notes.append(
            f"{len(capped)} heatmap(s) are cut down: at most {options.max_tiles} kernel tiles per convolution and "
            f"{options.max_side} rows or columns per matrix; each picture says what it shows."
        )
    return stats, entries, files, notes


def _heatmap(idx: int, w: WeightTensor, options: ReportOptions, files: dict[str, bytes]) -> Picture | None:
    view = heatmap_view(w.array, options)
    if view is None:
        return None
    img, note, layout = view
    shape = "x".join(str(d) for d in w.array.shape)
    title = f"{w.role} ({shape})" + (", kernels as tiles" if layout == "tiles" else ", out x in")
    caption = tile_caption(w.array.shape, options.max_tiles) if layout == "tiles" else ""
    data, width, height = heatmap_png(img, layout, title, options.dpi, caption)
    file = f"t{idx:04d}_heat.png"
    files[file] = data
    return Picture(file, f"heatmap of {w.name} ({w.role})", width, height, note)


def write_weights_report(
    analysis: Any, directory: str | os.PathLike[str], options: ReportOptions | None = None
) -> Report:
    """Write the report folder ``directory`` (see the module docstring) and return what it holds.

    Raises
    ------
    InputError
        ``directory`` is a file, or a non-empty folder that holds no earlier report.
    MissingDependencyError
        matplotlib is not installed.
    """
    options = options or ReportOptions()
    directory = Path(directory)
    check_target(directory)
    _mpl()
    stats, entries, files, notes = build_report(analysis, options)
    title = options.title or _model_name(analysis)
    page = generate_html(title, stats, entries, notes, framework=getattr(analysis, "framework", ""))
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".part", dir=directory.parent))
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        (tmp / MARKER).write_text(json.dumps(_finite(stats.to_dict()), indent=1) + "\n", encoding="utf-8")
        (tmp / "index.html").write_text(page, encoding="utf-8")
        os.chmod(tmp, 0o755)
        _replace_dir(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    unique = {p.file: p for es in entries.values() for en in es for p in (en.histogram, en.heatmap) if p is not None}
    pictures = tuple(unique.values())
    return Report(directory, stats, pictures)


def _finite(value: Any) -> Any:
    """NaN and infinities (statistics of an empty or all-NaN tensor) become null: strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _model_name(analysis: Any) -> str:
    model = getattr(analysis, "model", None)
    name = getattr(getattr(model, "graph", None), "name", "") or ""
    return name or "model"


__all__ = [
    "Picture",
    "Report",
    "ReportOptions",
    "build_report",
    "check_target",
    "generate_html",
    "heatmap_png",
    "heatmap_view",
    "histogram_png",
    "tile_caption",
    "write_weights_report",
]
