"""What tracking costs: plain vs. the floor (bare raw listeners) vs. sessionkit.track, side by side.

    python benchmarks/bench_tracking.py [--runs 72] [--objects 10000] [--url sqlite://] [--instructions]
    python benchmarks/bench_tracking.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test

Each workload runs three ways, interleaved in one process: plain (no listeners), the floor
(ten ``raw=True`` lifecycle listeners that only append a tuple: SQLAlchemy's own dispatch
cost, the least any tracker can cost) and tracked (``sessionkit.track`` with its defaults,
SQL capture on). Each run takes the three modes in another order (all six in turn), so no
mode always follows the same one. CPU time is measured with the garbage collector paused,
and the minimum over the runs is compared, since noise only ever adds time; the ratio of
the medians is printed beside it. A workload shorter than the longest runs that many times
more often (up to 8x), so that each minimum is taken over about as much CPU time: the
shorter a run, the more a single lucky one moves its minimum. Against a database server,
wall-clock time is printed too: the server's work and the network wait are real costs of
the learner's call that this process's CPU time does not see. Then it prints the bytes each
recorded event costs and shows that memory, read or not, stays flat past ``max_events``.
``--instructions`` also counts the instructions each workload's work executes, floor and
tracked, under valgrind's callgrind, in several memory layouts: a figure that is the same on
every run, where CPU time on a shared machine moves by several percent from one run to the next.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import operator
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from sqlalchemy import String, create_engine, delete, event, func, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

import sessionkit


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "bench_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


def make_engine(url: str) -> Any:
    if (url.startswith("sqlite") and ":memory:" in url) or url == "sqlite://":
        return create_engine(url, poolclass=StaticPool)
    return create_engine(url)


class Floor:
    """Ten bare lifecycle listeners that append a tuple: SQLAlchemy's own dispatch cost."""

    def __init__(self, maker: sessionmaker[Session]) -> None:
        self.maker = maker
        self.log: list[tuple[str, Any, Any]] = []
        self.listeners = []
        for hook in sessionkit.HOOKS:
            fn = self._listener(hook)
            event.listen(maker, hook, fn, raw=True)
            self.listeners.append((hook, fn))

    def _listener(self, hook: str) -> Callable[[Any, Any], None]:
        append = self.log.append

        def listener(session: Any, state: Any) -> None:
            append((hook, session, state))

        return listener

    def stop(self) -> None:
        for hook, fn in self.listeners:
            event.remove(self.maker, hook, fn)


def attach(mode: str, maker: sessionmaker[Session]) -> Callable[[], None]:
    if mode == "plain":
        return lambda: None
    if mode == "floor":
        return Floor(maker).stop
    return sessionkit.track(maker).stop


def insert_workload(engine: Any, maker: sessionmaker[Session], n: int) -> Callable[[], None]:
    with engine.begin() as conn:
        conn.execute(delete(Item))

    def work() -> None:
        with maker() as session:
            for i in range(n):
                session.add(Item(name=f"item {i}"))
            session.flush()
            session.commit()

    return work


def load_workload(engine: Any, maker: sessionmaker[Session], n: int) -> Callable[[], None]:
    with engine.begin() as conn:
        if conn.scalar(select(func.count()).select_from(Item)) != n:  # rows the previous workload left will do
            conn.execute(delete(Item))
            conn.execute(insert(Item), [{"name": f"item {i}"} for i in range(n)])

    def work() -> None:
        with maker() as session:
            rows = session.scalars(select(Item)).all()
            assert len(rows) == n

    return work


def delete_workload(engine: Any, maker: sessionmaker[Session], n: int) -> Callable[[], None]:
    with engine.begin() as conn:
        conn.execute(delete(Item))
        conn.execute(insert(Item), [{"name": f"item {i}"} for i in range(n)])
    session = maker()
    items = session.scalars(select(Item)).all()

    def work() -> None:
        for item in items:
            session.delete(item)
        session.commit()
        session.close()

    return work


WORKLOADS = {"add+flush+commit": insert_workload, "load by query": load_workload, "delete+commit": delete_workload}
MODES = ("plain", "floor", "tracked")
#: Every order in turn, so that no mode always runs first, or always just after another one
#: (a run leaves the heap and caches in a state that favours or hinders the next).
ORDERS = list(itertools.permutations(MODES))


Timings = dict[str, dict[str, dict[str, list[float]]]]

#: The most times a shorter workload runs per run of the longest (see the module's docstring).
MAX_REPEATS = 8


def repeats_for(cpu: dict[str, dict[str, list[float]]]) -> dict[str, int]:
    """How many times each workload runs per run of the longest, from the first run's times."""
    took = {name: min(min(values) for values in by_mode.values()) for name, by_mode in cpu.items()}
    longest = max(took.values())
    return {name: min(MAX_REPEATS, max(1, round(longest / seconds))) for name, seconds in took.items()}


def run_once(engine: Any, workload: str, mode: str, n: int, run: Callable[[Callable[[], None]], None]) -> None:
    """Prepare a workload, attach a mode, and ``run(work)`` with the garbage collector paused."""
    maker = sessionmaker(bind=engine)
    work = WORKLOADS[workload](engine, maker, n)
    stop = attach(mode, maker)
    gc.collect()
    gc.disable()
    try:
        run(work)
    finally:
        gc.enable()
        stop()


def measure(url: str, runs: int, n: int) -> Timings:
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    times: Timings = {clock: {w: {m: [] for m in MODES} for w in WORKLOADS} for clock in ("cpu", "wall")}

    def timed(name: str, mode: str) -> Callable[[Callable[[], None]], None]:
        def time_it(work: Callable[[], None]) -> None:
            start, wall = time.process_time(), time.perf_counter()
            work()
            times["cpu"][name][mode].append(time.process_time() - start)
            times["wall"][name][mode].append(time.perf_counter() - wall)

        return time_it

    repeats = dict.fromkeys(WORKLOADS, 1)
    turns = dict.fromkeys(WORKLOADS, 0)
    for run in range(runs):
        for name in WORKLOADS:
            for _ in range(repeats[name]):
                for mode in ORDERS[turns[name] % len(ORDERS)]:
                    run_once(engine, name, mode, n, timed(name, mode))
                turns[name] += 1
        if run == 0:
            repeats = repeats_for(times["cpu"])
    Base.metadata.drop_all(engine)
    engine.dispose()
    return times


def memory(n_events: int, max_events: int) -> tuple[int, int]:
    """Bytes a tracker holds after recording ``n_events`` transitions of short-lived objects.

    Returns the most its unread buffer held while they were recorded, and what it holds
    once the log has been read.
    """
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    session = Session(engine)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tracker = sessionkit.track(session, sql=False, max_events=max_events)
    for i in range(n_events // 2):
        item = Item(name=f"item {i}")
        session.add(item)
        session.expunge(item)
    del item
    peak = tracemalloc.get_traced_memory()[1] - before
    assert len(tracker.events) == min(n_events + 1, max_events)  # one begin, then the transitions
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    tracker.stop()
    session.close()
    return peak, held


def count(workload: str, mode: str, n: int) -> None:
    """Run one workload once to warm up, then once inside ``operator.call``, which callgrind counts."""
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    run_once(engine, workload, mode, n, lambda work: work())
    run_once(engine, workload, mode, n, operator.call)  # type: ignore[attr-defined] # Python 3.11+


#: Environment padding for each memory layout the instructions are counted in (see ``instructions``).
LAYOUTS = (0, 1_000, 2_000)


def callgrind(workload: str, n: int, pad: int) -> dict[str, int] | None:
    """Instructions the work executes, floor and tracked side by side (one process each), in one layout."""
    # The hash seed fixes set and dict orders in both modes; the padding moves where things sit in memory.
    env = {**os.environ, "PYTHONHASHSEED": "0", "BENCH_LAYOUT": "x" * pad}
    valgrind = shutil.which("valgrind") or "valgrind"
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for mode in ("floor", "tracked"):
            command = [valgrind, "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=_operator_call"]
            command += [f"--callgrind-out-file={tmp}/{mode}", sys.executable, __file__]
            command += ["--count", workload, mode, "--objects", str(n)]
            runs[mode] = subprocess.Popen(  # noqa: S603
                command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
            )
        counts = {}
        for mode, process in runs.items():
            _, stderr = process.communicate()
            found = re.search(r"Collected : (\d+)", stderr)
            if process.returncode or not found or found.group(1) == "0":
                return None
            counts[mode] = int(found.group(1))
    return counts


def instructions(n: int) -> None:
    """Print tracked/floor in instructions executed (valgrind's callgrind), the least of each over layouts.

    A count is the same on every run of one command line, but CPython 3.11 indexes its type
    attribute cache by address, so where things sit in memory decides which lookups collide
    and walk the class hierarchy again. Each mode is counted in several layouts (the
    environment padded by a few KB), and, as with CPU time, the least is compared: collisions
    only ever add instructions. The ratios in each layout are printed beside it.
    """
    layouts = f"least of {len(LAYOUTS)} memory layouts"
    print(f"{n:,} objects on sqlite://, instructions executed by the work alone (callgrind, {layouts})")
    print(f"{'workload':<18} {'floor':>14} {'tracked':>14} {'tracked/floor':>14}  (each layout)")
    for workload in WORKLOADS:
        counted = [counts for pad in LAYOUTS if (counts := callgrind(workload, n, pad)) is not None]
        if len(counted) < len(LAYOUTS):
            print(f"{workload:<18} not counted: needs valgrind and Python >= 3.11 with symbols")
            return
        floor = min(counts["floor"] for counts in counted)
        tracked = min(counts["tracked"] for counts in counted)
        each = ", ".join(f"{counts['tracked'] / counts['floor']:.3f}x" for counts in counted)
        print(f"{workload:<18} {floor:>14,} {tracked:>14,} {tracked / floor:13.3f}x  ({each})")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        type=int,
        default=72,
        help="interleaved runs of the longest workload, every order of the modes in turn; shorter ones run"
        f" up to {MAX_REPEATS}x as often",
    )
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--url", default="sqlite://")
    parser.add_argument("--instructions", action="store_true", help="also count instructions under valgrind")
    parser.add_argument("--count", nargs=2, metavar=("WORKLOAD", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count:
        workload, mode = args.count
        count(workload, mode, args.objects)
        return

    times = measure(args.url, args.runs, args.objects)
    clocks = ("cpu",) if args.url.startswith("sqlite") else ("cpu", "wall")
    for clock in clocks:
        what = "CPU seconds (this process)" if clock == "cpu" else "wall-clock seconds (with the server)"
        print(f"{args.objects:,} objects on {args.url}, minimum {what} over interleaved runs")
        print(
            f"{'workload':<18} {'runs':>5} {'plain':>8} {'floor':>8} {'tracked':>8} {'floor/plain':>12}"
            f" {'tracked/floor':>14} {'(medians)':>10}"
        )
        for name, by_mode in times[clock].items():
            best = {mode: min(values) for mode, values in by_mode.items()}
            middle = {mode: statistics.median(values) for mode, values in by_mode.items()}
            print(
                f"{name:<18} {len(by_mode['tracked']):>5} {best['plain']:8.4f} {best['floor']:8.4f}"
                f" {best['tracked']:8.4f} {best['floor'] / best['plain']:11.3f}x"
                f" {best['tracked'] / best['floor']:13.3f}x {middle['tracked'] / middle['floor']:9.3f}x"
            )
        print()

    if args.instructions:
        instructions(args.objects)

    print("memory a tracker holds (max_events=10,000) for n events: most while unread, and after the log is read")
    for n_events in (5_000, 10_000, 20_000, 50_000, 100_000):
        peak, held = memory(n_events, 10_000)
        kept = min(n_events, 10_000)
        print(
            f"  {n_events:>7,} events: at most {peak:>11,} bytes unread; {held:>11,} bytes read"
            f" ({held / kept:,.0f} bytes per kept event)"
        )


if __name__ == "__main__":
    main()
