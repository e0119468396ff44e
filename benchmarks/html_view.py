"""Benchmark: the interactive HTML view in headless Chromium (Debian's, driven by Playwright).

    .venv/bin/python benchmarks/html_view.py                    # the 50k-op synthetic ResNet and the seed ResNet
    .venv/bin/python benchmarks/html_view.py --ops 20000 --repeat 5 --no-seed

(Named html_view.py: a script called html.py would hide the standard library's html module.)

For each model: the time to write the page (Python, after the analysis) and its size; then,
``--repeat`` times in a fresh page, the median of

- ``open``: from the start of navigation to the first drawing on screen (the page's own
  ``performance.now()`` after the first frame is painted), and the wall time of Playwright's
  ``goto`` plus the wait;
- ``expand``: a click on a collapsed module (the first stage) until the new drawing is on
  screen (measured by the page from the click to the painted frame), and the wall time;
- ``unfold``: the same for a click on the folded run inside it (the synthetic model's has
  about 1,760 repetitions; it unfolds a page at a time);
- ``search``: typing a deep layer's name and Enter until it is drawn, centred.

``cpu`` is the CPU time (user + system, every Chromium process) spent on the same span,
which other load on the machine does not inflate the way it inflates wall time; the load
average is printed with the table.
The targets (issue 15): a 50,000-op model opens in 2 s or less, one expand takes 300 ms or less.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _descendants(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kids.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


def chrome_cpu_ms() -> float:
    """CPU time (user + system) used so far by every Chromium process this script started."""
    total = 0
    for pid in _descendants(os.getpid()):
        try:
            if b"chrom" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total * 1000 / os.sysconf("SC_CLK_TCK")


def _timed_click(page, selector: str) -> tuple[float, float, float]:
    """(page-measured ms, wall ms, Chromium CPU ms) of a click that redraws."""
    n = int(page.get_attribute("body", "data-renders"))
    c, t = chrome_cpu_ms(), time.perf_counter()
    page.click(selector)
    page.wait_for_selector(f"body[data-renders='{n + 1}']", state="attached", timeout=120_000)
    wall = (time.perf_counter() - t) * 1000
    return page.evaluate("window.modelmapView.timings.last"), wall, chrome_cpu_ms() - c


def measure_page(browser, path: Path, stage: str, deep: str) -> dict[str, float]:
    """One fresh page: open, expand ``stage``, unfold the run inside it, search ``deep``."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    c, t = chrome_cpu_ms(), time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-renders='1']", state="attached", timeout=120_000)
    out = {"open_wall": (time.perf_counter() - t) * 1000, "open": page.evaluate("window.modelmapView.timings.open"),
           "open_cpu": chrome_cpu_ms() - c}
    out["expand"], out["expand_wall"], out["expand_cpu"] = _timed_click(page, f'[data-path="{stage}"]')
    runs = page.eval_on_selector_all("[data-repeat]", "els => els.map(e => e.getAttribute('data-path'))")
    run = next(r for r in runs if r.startswith(stage + "."))
    out["unfold"], out["unfold_wall"], out["unfold_cpu"] = _timed_click(page, f'[data-path="{run}"]')
    n = int(page.get_attribute("body", "data-renders"))
    t = time.perf_counter()
    page.get_by_role("searchbox").fill(deep)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"body[data-renders='{n + 1}']", state="attached", timeout=120_000)
    out["search_wall"] = (time.perf_counter() - t) * 1000
    out["search"] = page.evaluate("window.modelmapView.timings.last")
    out["boxes"] = page.evaluate("window.modelmapView.timings.boxes")
    page.close()
    return out


def bench(name: str, analysis, stage: str, deep: str, repeat: int, browser, workdir: Path) -> dict[str, float]:
    from modelmap.exporters.html import generate_html

    t = time.perf_counter()
    html = generate_html(analysis)
    write_ms = (time.perf_counter() - t) * 1000
    path = workdir / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    runs = [measure_page(browser, path, stage, deep) for _ in range(repeat)]
    row = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    row.update(name=name, ops=analysis.op_count, layers=len(analysis.layers), write=write_ms, size=path.stat().st_size)
    return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ops", type=int, default=50_000, help="size of the synthetic ResNet (ONNX ops)")
    ap.add_argument("--repeat", type=int, default=3, help="fresh pages per model (the median is reported)")
    ap.add_argument("--no-seed", action="store_true", help="skip the seed ResNet (needs torch)")
    args = ap.parse_args(argv)

    import modelmap as mm
    from benchmarks.synthetic import resnet_of_size
    from playwright.sync_api import sync_playwright

    cases = []
    t = time.perf_counter()
    cases.append((f"synthetic {args.ops // 1000}k", mm.analyze(resnet_of_size(args.ops)), "layer1", "layer3.1234.b.conv"))
    print(f"analysed the synthetic model in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    if not args.no_seed:
        from fixtures import torch_models as tm

        cases.append(("seed ResNet (torch)", mm.analyze(*tm.seed_resnet()), "stage2", "stage3.2.conv2"))

    load = f"{os.getloadavg()[0]:.1f}"
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        rows = [bench(name, a, stage, deep, args.repeat, browser, Path(tmp)) for name, a, stage, deep in cases]
        browser.close()

    print(f"load average before: {load}, after: {os.getloadavg()[0]:.1f} (on {os.cpu_count()} cores)")
    print(f"{'':<22}{'':>7}{'':>9}{'':>9}{'open ms':>24}{'expand ms':>24}{'unfold ms':>16}{'search':>8}")
    print(f"{'model':<22}{'ops':>7}{'size MB':>9}{'write s':>9}{'page':>8}{'wall':>8}{'cpu':>8}"
          f"{'page':>8}{'wall':>8}{'cpu':>8}{'page':>8}{'cpu':>8}{'page':>8}")
    for r in rows:
        print(f"{r['name']:<22}{r['ops']:>7}{r['size'] / 1e6:>9.2f}{r['write'] / 1000:>9.2f}"
              f"{r['open']:>8.0f}{r['open_wall']:>8.0f}{r['open_cpu']:>8.0f}"
              f"{r['expand']:>8.0f}{r['expand_wall']:>8.0f}{r['expand_cpu']:>8.0f}"
              f"{r['unfold']:>8.0f}{r['unfold_cpu']:>8.0f}{r['search']:>8.0f}")


if __name__ == "__main__":
    main()
