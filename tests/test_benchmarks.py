"""The README's benchmark commands run, and print what the README says they measure.

Tiny sizes: these check the scripts, not the figures (timings are never asserted here).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"
RATIO = r"(\d+\.\d{3})x"


def run(script: str, *args: str) -> str:
    command = [sys.executable, str(BENCHMARKS / script), *args]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=600).stdout


ROW = re.compile(rf"^(\S+(?: by query)?)\s+(\d+)\s+[\d. ]+?{RATIO}\s+{RATIO}\s+{RATIO}$", re.MULTILINE)
MEMORY = re.compile(r"([\d,]+) events: at most\s+([\d,]+)")


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_tracking_benchmark_compares_every_workload_and_shows_flat_memory() -> None:
    out = run("bench_tracking.py", "--runs", "2", "--objects", "50")
    rows = {name: (int(runs), *map(float, ratios)) for name, runs, *ratios in ROW.findall(out)}
    assert set(rows) == {"add+flush+commit", "load by query", "delete+commit"}
    assert all(runs >= 2 and all(ratio > 0 for ratio in ratios) for runs, *ratios in rows.values())
    unread = {number(n): number(held) for n, held in MEMORY.findall(out)}
    assert sorted(unread) == [5_000, 10_000, 20_000, 50_000, 100_000]
    assert unread[100_000] < 1.05 * unread[50_000]  # flat past max_events
    assert unread[20_000] < unread[100_000]


def test_shorter_workloads_run_more_often_up_to_a_cap() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from bench_tracking import MAX_REPEATS, repeats_for
    finally:
        sys.path.remove(str(BENCHMARKS))
    cpu = {
        "long": {"plain": [0.30], "floor": [0.31], "tracked": [0.32]},
        "third": {"plain": [0.10], "floor": [0.11], "tracked": [0.12]},
        "tiny": {"plain": [0.001], "floor": [0.002], "tracked": [0.002]},
    }
    assert repeats_for(cpu) == {"long": 1, "third": 3, "tiny": MAX_REPEATS}


@pytest.mark.parametrize(
    ("script", "args", "shown"),
    [
        ("bench_diagram.py", ("--runs", "1", "--sizes", "10", "200"), r"budget at 200 objects .*: met"),
        ("bench_redraw.py", ("--runs", "1", "--sizes", "10", "--adds", "200"), r"every object pending: True"),
    ],
)
def test_rendering_benchmarks_run(script: str, args: tuple[str, ...], shown: str) -> None:
    out = run(script, *args)
    assert re.search(shown, out)
    assert re.search(r"\d+(\.\d+)? ms", out)


def test_replay_page_benchmark_prints_the_size_of_a_saved_replay() -> None:
    out = run("bench_replay_page.py", "--events", "20", "--objects", "3")
    found = re.search(r"replay\.html:\s+([\d,]+) KB \(limit 1,000 KB\)", out)
    assert found, out
    assert 0 < number(found.group(1)) < 1_000
