"""Command boundary benchmark: ``python benchmarks/bench_commands.py`` (or ``nox -s bench``).

Prints, as ratios measured in this one run:

* refusing a 3 MB JSON document holding a 1,000,000-element array (``PlanStep.ipr``):
  the time against ``json.loads`` of the same text (the work refused), and the peak
  memory against the text's own size (targets: under 50 ms and 50 MB);
* a command through ``core.execute`` against the same command through the method of
  the library as it was before commands were data (``git archive`` of
  ``BASELINE_REV`` run in a subprocess beside this one; target <= 1.3x);
* a command through ``core.execute`` against its typed method today (they build the
  same command: ~1x).

Timings are printed, never asserted; a missed target prints ``MISSED``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import timeit
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

#: The last commit before commands became data (the method-call API it is compared with).
BASELINE_REV = "ca3fe95"

_WORKLOAD = """
import sys, time, timeit
sys.path.insert(0, {src!r})
import aligner_core
from aligner_core.testing.factories import set_up_lab
core = aligner_core.connect("memory://")
lab = set_up_lab(core)
case_id = lab.ready_case()
if {new!r}:
    from aligner_core.commands import Comment
    run = lambda: core.execute(lab.doctor, Comment(case_id=case_id, text="a note"))
else:
    run = lambda: core.comment(lab.doctor, case_id, "a note")
for _ in range(200):
    run()
best = min(timeit.repeat(run, number=200, repeat=5)) / 200
print(best)
"""


def _command_time(src: Path, new: bool) -> float:
    code = _WORKLOAD.format(src=str(src), new=new)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    return float(done.stdout.strip().splitlines()[-1])


def _baseline_src(workdir: Path) -> Path | None:
    """The library as of ``BASELINE_REV``, unpacked from git (None without git history)."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", BASELINE_REV, "src"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    subprocess.run(["tar", "-x", "-C", str(workdir)], input=archive, check=True, timeout=60)
    return workdir / "src"


def refusing_a_million_items() -> None:
    from aligner_core.commands import UploadPlan
    from aligner_core.errors import ValidationError
    from aligner_core.serialization import make_converter

    converter = make_converter()
    text = (
        '{"case_id": "00000000-0000-4000-8000-000000000001",'
        ' "summary": {"upper_steps": 1, "lower_steps": 1},'
        ' "steps": [{"number": 1, "ipr": [' + ",".join(["{}"] * 1_000_000) + "]}]}"
    )
    tracemalloc.start()
    started = time.perf_counter()
    try:
        converter.load(text, UploadPlan)
    except ValidationError as error:
        message = str(error)
    refuse = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    parse = min(timeit.repeat(lambda: json.loads(text), number=1, repeat=3))
    ok = refuse < 0.05 and peak < 50 * 1024 * 1024 and len(message) < 10_000
    print(
        f"commands refuse 1M-element array ({len(text) / 1e6:.1f} MB): {refuse * 1000:.2f} ms "
        f"= {refuse / parse:.4f}x json.loads of it ({parse * 1000:.0f} ms); peak "
        f"{peak / 1e6:.2f} MB = {peak / len(text):.3f}x the text; message {len(message)} chars "
        f"(targets < 50 ms, < 50 MB, < 10 kB) {'OK' if ok else 'MISSED'}"
    )


def execute_against_methods() -> None:
    with tempfile.TemporaryDirectory(prefix="aligner-baseline-") as tmp:
        now_execute = _command_time(ROOT / "src", new=True)
        now_method = _command_time(ROOT / "src", new=False)
        baseline = _baseline_src(Path(tmp))
        before = _command_time(baseline, new=False) if baseline else None
    print(
        f"commands execute vs typed method today: {now_execute / now_method:.2f}x "
        f"[{now_execute * 1e6:.0f} us vs {now_method * 1e6:.0f} us]"
    )
    if before is None:
        print("commands execute vs the method call before commands: no git history, skipped")
        return
    ratio = now_execute / before
    print(
        f"commands execute vs the method call at {BASELINE_REV}: {ratio:.2f}x "
        f"[{now_execute * 1e6:.0f} us vs {before * 1e6:.0f} us] (target <= 1.3x) "
        f"{'OK' if ratio <= 1.3 else 'MISSED'}"
    )


def main() -> int:
    os.environ.setdefault("PYTHONHASHSEED", "0")
    refusing_a_million_items()
    execute_against_methods()
    return 0


if __name__ == "__main__":
    sys.exit(main())
