"""Run corpus cases through the CLI and judge each run against the bad-input contract.

``python -m tests.fuzz.run --cases 1000 --report report.json [--classes a,b] [--subprocess-sample N]``

Most cases run in this process through click's ``CliRunner`` (each under a 30 s alarm);
factory cases, and a sample of every other class, run as real ``python -m modelmap``
processes. A run passes when it exits 0 or 2, says one ``modelmap: error:`` line and no
traceback on exit 2, takes at most 30 s, keeps peak memory under 2 GB, leaves no partial
or (on error) any output file, writes no script into any output, and no payload ran.
The report holds every case's verdict and the counts per class.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

from .corpus import CANARY, Case, cases

LIMIT_SECONDS = 30.0  # CPU seconds a case may take
#: Wall-clock seconds before a run counts as hung (a FIFO never ends; CPU time does not see
#: that): above LIMIT_SECONDS, as a shared, loaded machine stretches honest runs.
HANG_SECONDS = float(os.environ.get("MODELMAP_FUZZ_TIMEOUT", "120"))
LIMIT_RSS = 2 * 2**30
SAFETY_AS = 8 * 2**30  # address-space cap of this runner and its children: protects a shared machine


class FuzzTimeout(BaseException):
    """Raised by the alarm in an in-process run (a BaseException: no ``except Exception`` eats it)."""


def _alarm(_sig: int, _frame: object) -> None:
    raise FuzzTimeout


def _maxrss(who: int) -> int:
    """Peak memory in bytes. For this process, VmHWM: Linux keeps ru_maxrss across execve,
    so a runner started by a big pytest worker would report the worker's peak."""
    if who == resource.RUSAGE_SELF:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
    return resource.getrusage(who).ru_maxrss * 1024


def _cpu() -> float:
    """CPU seconds of this process and its finished children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_in_process(args: list[str]) -> tuple[int | None, str, str, str | None]:
    """(exit code, stdout, stderr, uncaught exception) of the CLI run in this process."""
    from click.testing import CliRunner

    from modelmap._cli import cli

    runner = CliRunner()
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        result = runner.invoke(cli, args, catch_exceptions=True)
    except FuzzTimeout:
        return None, "", "", "timeout"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    uncaught = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        uncaught = f"{type(result.exception).__name__}: {str(result.exception)[:200]}"
    return result.exit_code, result.stdout, result.stderr, uncaught


def _limit_child() -> None:
    """A real run gets the address-space cap and LIMIT_SECONDS of CPU (then SIGXCPU ends it)."""
    resource.setrlimit(resource.RLIMIT_AS, (SAFETY_AS, SAFETY_AS))
    resource.setrlimit(resource.RLIMIT_CPU, (int(LIMIT_SECONDS) + 1, int(LIMIT_SECONDS) + 2))


def run_subprocess(args: list[str], python: str) -> tuple[int | None, str, str, str | None]:
    env = {k: v for k, v in os.environ.items() if k != "TORCH_LOGS"}
    try:
        # CPU is capped in the child; the wall-clock bound only catches a hang, and a loaded
        # machine stretches a real conversion (torch's import alone) well past HANG_SECONDS
        p = subprocess.run([python, "-m", "modelmap", *args], capture_output=True, timeout=5 * HANG_SECONDS,
                           preexec_fn=_limit_child, env=env, check=False)
    except subprocess.TimeoutExpired:
        return None, "", "", "timeout"
    if p.returncode == -signal.SIGXCPU:
        return None, "", "", "slow: over the CPU limit"
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"), None


# --------------------------------------------------------------------------- judging
_ATTR_URL = re.compile(r"\b(URL|href|target)\s*=", re.I)


def svg_problems(text: str) -> list[str]:
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as e:
        return [f"SVG not well-formed: {e}"]
    out = []
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1].lower()
        if tag in ("script", "foreignobject", "iframe", "object", "embed"):
            out.append(f"SVG <{tag}>")
        for name, value in el.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                out.append(f"SVG attribute {local}")
            squeezed = re.sub(r"[\s\x00-\x1f]", "", value).lower()
            if local == "href" and (squeezed.startswith("javascript:") or squeezed.startswith("data:")):
                out.append("SVG javascript:/data: link")
    return out


def mermaid_problems(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        first = line.strip().split(" ", 1)[0].lower()
        if first in ("click", "href", "callback"):
            out.append(f"Mermaid {first} statement")
    if re.search(r"<(?!br>)", text):
        out.append("Mermaid raw tag")
    if text.count("%%{") > 0:
        out.append("Mermaid init directive")
    return out


def dot_problems(text: str) -> list[str]:
    out = []
    if _ATTR_URL.search(text):
        out.append("DOT link attribute")
    for label in re.findall(r"label\s*=\s*(<.*)", text):
        if not _SAFE_HTML_LABEL.fullmatch(label.rstrip(";").rstrip()):
            out.append("DOT HTML label")
    return out


#: The only HTML-like labels modelmap writes: a cluster title clear of arrows, beside an empty
#: cell or on two lines (exporters/_titles.py). Its text is escaped, so no other tag (an
#: <IMG SRC=...> reading a file) can appear.
_SAFE_HTML_LABEL = re.compile(
    r'<(?:<table border="0" cellborder="0" cellspacing="0" cellpadding="0"><tr>(?:<td(?: width="\d+")?>[^<>]*</td>)+'
    r'</tr></table>|(?:[^<>]*<br align="(?:left|right)"/>)+)>'
)


class _Tags(HTMLParser):
    """The elements and attributes of an HTML page (script content is not parsed as tags)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        for name, value in attrs:
            squeezed = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            if name.startswith("on") or squeezed.startswith("javascript:"):
                self.bad.append(f"HTML <{tag} {name}=...>")


_HTML_BASELINE: Counter[str] = Counter()


def html_problems(text: str) -> list[str]:
    """No element or attribute that the page's own template does not have."""
    if not _HTML_BASELINE:
        _HTML_BASELINE.update(_html_tags(_html_baseline()).tags)
    page = _html_tags(text)
    extra = [f"HTML <{t}> x{n} (template: {_HTML_BASELINE[t]})" for t, n in page.tags.items()
             if t in ("script", "iframe", "object", "embed", "img", "svg", "a") and n > _HTML_BASELINE[t]]
    return page.bad + extra


def _html_tags(text: str) -> _Tags:
    p = _Tags()
    p.feed(text)
    p.close()
    return p


def _html_baseline() -> str:
    import random

    import modelmap
    from modelmap.exporters import generate

    from .models import random_model

    return str(generate(modelmap.analyze(random_model(random.Random(0))), "html"))


CHECKS = {".svg": svg_problems, ".mmd": mermaid_problems, ".dot": dot_problems, ".html": html_problems}


def judge(args: list[str], code: int | None, out: str, err: str, uncaught: str | None, seconds: float,
          folder: Path, rss_jump: bool) -> list[str]:
    """What is wrong with one run (empty when it kept the contract)."""
    problems = []
    if uncaught:
        problems.append(uncaught if uncaught == "timeout" or uncaught.startswith("slow") else f"uncaught {uncaught}")
    elif code not in (0, 2):
        problems.append(f"exit {code}")
    if "Traceback" in out or "Traceback" in err:
        problems.append("traceback")
    if code == 2:
        lines = err.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith("modelmap: error: "):
            problems.append(f"stderr of {len(lines)} lines")
    if code == 0 and "--json" in args:
        try:
            json.loads(out)
        except ValueError:
            problems.append("stdout not JSON")
    if seconds > LIMIT_SECONDS:
        problems.append(f"slow ({seconds:.0f} CPU seconds)")
    if rss_jump:
        problems.append("memory over 2 GB")
    for p in folder.rglob("*"):
        if p.name.endswith(".part"):
            problems.append("partial file")
        if p.name.startswith("out.") and p.is_file():
            if code != 0:
                problems.append("output file left on error")
            elif p.suffix in CHECKS:
                problems += CHECKS[p.suffix](p.read_text("utf-8", "replace"))
    for canary in (folder / CANARY, folder.parent / CANARY, Path("/tmp/CANARY-abs"), Path("/tmp") / CANARY, Path("/") / CANARY):
        if canary.exists():
            problems.append(f"payload ran ({canary})")
    return problems


def run_case(case: Case, workdir: Path, python: str | None) -> dict:
    folder = workdir / f"{case.cls}-{case.number}"
    folder.mkdir(parents=True)
    try:
        args = case.build(folder)
    except Exception as e:  # noqa: BLE001 - a generator bug is reported, not hidden
        return {"cls": case.cls, "number": case.number, "problems": [f"generator: {type(e).__name__}: {e}"]}
    before = _maxrss(resource.RUSAGE_CHILDREN if python else resource.RUSAGE_SELF)
    t0, c0 = time.monotonic(), _cpu()
    code, out, err, uncaught = run_subprocess(args, python) if python else run_in_process(args)
    wall, seconds = time.monotonic() - t0, _cpu() - c0
    after = _maxrss(resource.RUSAGE_CHILDREN if python else resource.RUSAGE_SELF)
    problems = judge(args, code, out, err, uncaught, seconds, folder, before <= LIMIT_RSS < after)
    shown = [a if len(a) < 120 else a[:117] + "..." for a in args]
    return {"cls": case.cls, "number": case.number, "args": shown, "exit": code, "cpu": round(seconds, 2), "wall": round(wall, 2),
            "stderr": err.strip()[:300], "problems": problems, "subprocess": bool(python)}


#: Frameworks a class's in-process cases may reach, imported before any case is timed: their
#: import is no property of the input, and one cut short by the alarm would break the rest.
FRAMEWORKS = {"keras_archives": ("tensorflow", "keras", "tf2onnx"), "file_kinds": ("tensorflow", "keras", "tf2onnx", "torch"),
              "pt2_archives": ("torch",)}


def run(selected: list[Case], workdir: Path, sample: int, python: str, report: Path | None = None) -> list[dict]:
    import importlib

    for name in sorted({m for c in selected for m in FRAMEWORKS.get(c.cls, ())}):
        importlib.import_module(name)
    results = []
    per_class: Counter[str] = Counter()
    for case in selected:
        in_child = case.subprocess or per_class[case.cls] < sample
        per_class[case.cls] += 1
        results.append(run_case(case, workdir, python if in_child else None))
        shutil.rmtree(workdir / f"{case.cls}-{case.number}", ignore_errors=True)
        if report is not None:  # as it goes: a long run stopped early still tells what it saw
            write_report(report, results)
    return results


def summary(results: list[dict]) -> dict[str, dict[str, int]]:
    """Per class: cases, exit 0, exit 2, and failed runs (any problem)."""
    out: dict[str, dict[str, int]] = {}
    for r in results:
        c = out.setdefault(r["cls"], {"cases": 0, "exit0": 0, "exit2": 0, "failed": 0})
        c["cases"] += 1
        c["exit0"] += r.get("exit") == 0
        c["exit2"] += r.get("exit") == 2
        c["failed"] += bool(r["problems"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=int(os.environ.get("MODELMAP_FUZZ_CASES", "1000")))
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--classes", default="")
    ap.add_argument("--subprocess-sample", type=int, default=2)
    ap.add_argument("--python", default=sys.executable, help="the interpreter of the real-process runs")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--report", required=True)
    a = ap.parse_args()
    resource.setrlimit(resource.RLIMIT_AS, (SAFETY_AS, SAFETY_AS))
    only = set(a.classes.split(",")) - {""} or None
    workdir = Path(a.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    write_report(Path(a.report), run(cases(a.seed, a.cases, only), workdir, a.subprocess_sample, a.python, Path(a.report)))


def write_report(path: Path, results: list[dict]) -> None:
    report = {"summary": summary(results), "results": results, "peak_rss": _maxrss(resource.RUSAGE_SELF)}
    path.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
