"""What a state diagram costs: DOT size and build time for 10, 1,000 and 100,000 tracked objects.

    python benchmarks/bench_diagram.py [--runs 7] [--sizes 10 1000 100000] [--max-tokens 12]

Each size is a real tracked session (in-memory SQLite) with a fifth of its objects in each of
the five states. The snapshot is taken once (that is the core's work, timed apart); then
``diagram(snapshot).source`` is built ``--runs`` times with the garbage collector paused, and
the minimum and median are printed. Last, the SVG render time of the capped picture of the
largest session (pygraphviz, in-process). The budget from issue 3: at 100,000 objects the DOT
text stays under 20 KB and is built in under 50 ms.
"""

from __future__ import annotations

import argparse
import functools
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

try:
    import sessionkit
except ModuleNotFoundError:  # run from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import sessionkit
from sessionkit.core.snapshot import Snapshot
from sessionkit.render.diagram import diagram

DOT_BUDGET = 20_000
BUILD_BUDGET = 0.050


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "bench_diagram_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


def tracked_session(n: int) -> tuple[sessionkit.Tracker, Session, list[Item]]:
    """A session holding ``n`` tracked objects, a fifth in each state; the objects are kept alive."""
    engine = create_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    session = Session(engine)
    tracker = sessionkit.track(session, models=Base, sql=False, max_events=10 * n + 100)
    fifth = n // 5
    transient = [Item(name=f"t{i}") for i in range(n - 4 * fifth)]
    stored = [Item(name=f"s{i}") for i in range(3 * fifth)]
    session.add_all(stored)
    session.flush()
    detached, deleted = stored[:fifth], stored[fifth : 2 * fifth]
    for item in detached:
        session.expunge(item)
    for item in deleted:
        session.delete(item)
    session.flush()
    pending = [Item(name=f"p{i}") for i in range(fifth)]
    session.add_all(pending)
    return tracker, session, [*transient, *stored, *pending]


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    times = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(runs):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
    finally:
        gc.enable()
    return times


def dot_text(snapshot: Snapshot, max_tokens: int) -> str:
    return diagram(snapshot, max_tokens=max_tokens).source


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1_000, 100_000])
    parser.add_argument("--max-tokens", type=int, default=12)
    args = parser.parse_args()

    started = time.perf_counter()
    diagram(sessionkit.Snapshot([], at=0, live=True))
    print(f"first diagram in this process (imports graphviz): {ms(time.perf_counter() - started)}")
    print()
    header = f"{'objects':>9}  {'snapshot':>11}  {'DOT bytes':>9}  {'build min':>11}  {'build median':>12}  tokens"
    print(header)
    print("-" * len(header))
    largest = None
    for n in args.sizes:
        tracker, session, keep = tracked_session(n)
        started = time.perf_counter()
        snapshot = tracker.snapshot()
        snapshot_time = time.perf_counter() - started
        assert len(snapshot) == n == len(keep)
        times = timed(functools.partial(dot_text, snapshot, args.max_tokens), args.runs)
        picture = diagram(snapshot, max_tokens=args.max_tokens)
        size = len(picture.source.encode("utf-8"))
        drawn = picture.source.count("tok_") // 2  # each token is named twice: its node and its place in the column
        print(
            f"{n:>9,}  {ms(snapshot_time):>11}  {size:>9,}  {ms(min(times)):>11}  "
            f"{ms(statistics.median(times)):>12}  {drawn}"
        )
        if n == max(args.sizes):
            largest = (n, picture, size, min(times))
        tracker.stop()
        session.close()

    assert largest is not None
    n, picture, size, build = largest
    picture.svg()  # the first render in a process also initialises Fontconfig
    renders = []
    for _ in range(max(3, args.runs // 2)):
        picture._svg = None  # noqa: SLF001 - time the render, not the cache
        started = time.perf_counter()
        svg = picture.svg()
        renders.append(time.perf_counter() - started)
    print()
    print(
        f"SVG render of the capped {n:,}-object picture: min {ms(min(renders)).strip()}, "
        f"median {ms(statistics.median(renders)).strip()} ({len(svg):,} bytes of SVG)"
    )
    met = size < DOT_BUDGET and build < BUILD_BUDGET
    print(
        f"budget at {n:,} objects (DOT < {DOT_BUDGET:,} bytes, built in < {BUILD_BUDGET * 1000:.0f} ms): "
        f"{'met' if met else 'NOT met'} ({size:,} bytes, {build * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    main()
