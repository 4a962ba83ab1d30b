"""Run SQLAlchemy's ORM test suite plain and with every Session tracked, and fail on any difference.

    python -m suite                  # test/orm of the SQLAlchemy installed beside this interpreter
    python -m suite --python .venv-sqla20/bin/python test/orm/test_events.py test/orm/test_session.py

It prints each pass's counts per outcome, the wall-time ratio tracked/plain, the number of events
recorded, and every test whose outcome differs and is not on the allow-list
(``suite/allowed_differences.txt``), with its node id. It exits 1 on such a difference, when
tracking raised anything (reading the log included), or when a pass did not run as it should;
0 otherwise. The source distribution, pytest's logs and the outcomes stay under ``--cache``.
"""

# ruff: noqa: T201 - a command-line report: printing is its job

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from suite.outcomes import Difference, Run, Verdict, differences, judge, read_allow_list
from suite.runs import Pass, run
from suite.sources import installed_version, source_tree

HERE = Path(__file__).parent

#: Outcomes in the order pytest's summary names them; any other comes after.
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")

#: At most this many unexpected differences are printed (a run stopped by --maxfail lacks thousands).
PRINTED = 100


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m suite", description=__doc__.split("\n", 1)[0])
    parser.add_argument("paths", nargs="*", default=["test/orm"], help="test paths in SQLAlchemy's tree (test/orm)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter whose SQLAlchemy is tested")
    parser.add_argument("--cache", type=Path, default=HERE.parent / ".cache" / "sqlalchemy-suite", help="work folder")
    parser.add_argument("--allowed", type=Path, default=HERE / "allowed_differences.txt", help="the allow-list")
    parser.add_argument(
        "--one-by-one", action="store_true", help="run the passes one after the other, not side by side"
    )
    args = parser.parse_args(argv)
    found = shutil.which(args.python)
    if found is None:
        parser.error(f"--python {args.python!r} is not an interpreter; give the path of a venv's bin/python.")
    args.python = os.path.abspath(found)  # noqa: PTH100 - not resolved: a venv's python is a symlink to leave as is
    return args


def problems_of(name: str, one: Pass, version: str, source: Path) -> tuple[Run | None, list[str]]:
    """The pass's outcomes, and what shows it did not run as it should."""
    if not one.outcomes.exists():
        return None, [f"the {name} pass wrote no outcomes (exit code {one.returncode}); see {one.log}"]
    result = Run.load(one.outcomes)
    problems = []
    if not result.tests:
        problems.append(f"the {name} pass ran no test; see {one.log}")
    if result.exitstatus not in {0, 1}:
        problems.append(f"pytest ended the {name} pass with exit status {result.exitstatus}; see {one.log}")
    if result.sqlalchemy_version != version:
        problems.append(f"the {name} pass tested SQLAlchemy {result.sqlalchemy_version}, not {version}")
    tested = Path(result.sqlalchemy_file or source).resolve()
    if any(tested.is_relative_to(tree.resolve()) for tree in (source, one.tree)):
        problems.append(f"the {name} pass tested {result.sqlalchemy_file}, not the installed SQLAlchemy")
    return result, problems


def table(counts: dict[str, Counter[str]]) -> list[str]:
    """Counts per outcome, one row per pass."""
    seen = {outcome for counted in counts.values() for outcome in counted}
    columns = [outcome for outcome in OUTCOMES if outcome in seen or outcome in OUTCOMES[:3]]
    columns += sorted(seen - set(columns))
    rows = [f"{'':8}" + "".join(f"{column:>10}" for column in columns)]
    rows += [f"{name:8}" + "".join(f"{counted[column]:>10,}" for column in columns) for name, counted in counts.items()]
    return rows


def tracking_lines(report: dict[str, Any]) -> list[str]:
    """What tracking saw: events, reads, attachments, and every exception it raised."""
    lines = [
        f"Events recorded: {report['events']:,} over {report['tests']:,} tests; log read {report['reads']:,} times",
        f"Tracker attached {report['attachments']:,} times ({report['attachments'] - 1:,} after its listeners "
        "were removed behind its back)"
        if report["attachments"]
        else "Tracker never attached",
    ]
    if report.get("stop_notices"):
        lines.append(f"Reads that said recording had stopped (after each removal): {report['stop_notices']:,}")
    if report["warning_count"]:
        lines.append(f"Warnings while reading the log: {report['warning_count']:,}")
        lines += [f"  {warning}" for warning in report["warnings"]]
    lines.append(f"Exceptions raised by tracking (reading the log included): {len(report['errors']) or 'none'}")
    for error in report["errors"]:
        lines.append(f"  {error['when']}: {error['error']}")
        lines += [f"    {line}" for line in error["traceback"].rstrip().splitlines()]
    return lines


def difference_lines(difference: Difference) -> list[str]:
    """A difference: its node id, then its outcome and message in each pass."""
    lines = [f"  {difference.nodeid}"]
    for name, result in (("plain", difference.plain), ("tracked", difference.tracked)):
        lines.append(f"      {name:8}{result.outcome}" + (f": {result.message}" if result.message else ""))
    return lines


def verdict_lines(verdict: Verdict, everything: Path) -> list[str]:
    """The allowed differences, grouped by entry, then the unexpected ones (all of them are in ``everything``)."""
    lines = []
    by_entry = Counter(entry for _, entry in verdict.allowed)
    lines.append(f"Allowed differences: {len(verdict.allowed)}")
    lines += [f"  {n} x {entry.nodeid}: {entry.reason}" for entry, n in by_entry.items()]
    lines += [f"  no longer needed (ran, no difference): {entry.nodeid}" for entry in verdict.unneeded]
    lines.append(f"Unexpected differences: {len(verdict.unexpected)}")
    for difference in verdict.unexpected[:PRINTED]:
        lines += difference_lines(difference)
    if len(verdict.unexpected) > PRINTED:
        lines.append(f"  ... and {len(verdict.unexpected) - PRINTED:,} more: every one is in {everything}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run both passes, print the report; 1 if anything is wrong, else 0."""
    args = parse(argv)
    allowances = read_allow_list(args.allowed.read_text(encoding="utf-8"), str(args.allowed))
    version = installed_version(args.python)
    source = source_tree(args.cache, version)
    results = args.cache / "runs" / version
    passes = [Pass(name, args.python, args.paths, results, tracked=name == "tracked") for name in ("plain", "tracked")]
    print(f"SQLAlchemy {version} (of {args.python}): {' '.join(args.paths)} from {source}", flush=True)
    run(passes, source, together=not args.one_by_one)

    problems: list[str] = []
    runs: dict[str, Run] = {}
    for one in passes:
        result, found = problems_of(one.name, one, version, source)
        problems += found
        if result is not None:
            runs[one.name] = result
    print(*table({name: result.counts() for name, result in runs.items()}), sep="\n")
    plain, tracked = passes
    side = "one after the other" if args.one_by_one else "side by side"
    ratio = tracked.seconds / plain.seconds if plain.seconds else float("nan")
    print(f"Wall time: plain {plain.seconds:.1f} s, tracked {tracked.seconds:.1f} s ({side}); ratio {ratio:.3f}")
    cpu = [runs[name].cpu_seconds if name in runs else None for name in ("plain", "tracked")]
    if cpu[0] and cpu[1]:
        print(f"CPU time: plain {cpu[0]:.1f} s, tracked {cpu[1]:.1f} s; ratio {cpu[1] / cpu[0]:.3f}")

    if tracked.tracking.exists():
        report = json.loads(tracked.tracking.read_text(encoding="utf-8"))
        print(*tracking_lines(report), sep="\n")
        problems += [f"tracking raised {error['error']} {error['when']}" for error in report["errors"]]
    else:
        problems.append(f"the tracked pass wrote no tracking report; see {tracked.log}")

    if len(runs) == len(passes):
        verdict = judge(differences(runs["plain"].tests, runs["tracked"].tests), allowances, runs["tracked"].tests)
        everything = results / "unexpected-differences.txt"
        everything.write_text("".join(f"{line}\n" for d in verdict.unexpected for line in difference_lines(d)), "utf-8")
        print(*verdict_lines(verdict, everything), sep="\n")
        if verdict.unexpected:
            problems.append(f"{len(verdict.unexpected)} unexpected differences")
    print(f"Logs and outcomes: {results}")
    if problems:
        print("FAILED:", *problems, sep="\n  ")
        return 1
    print("OK: tracking changed no outcome beyond the allow-list.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
