"""What a live view costs: one redraw for 10, 1,000 and 100,000 tracked objects, and redraws per burst.

    python benchmarks/bench_redraw.py [--sizes 10 1000 100000] [--runs 5] [--adds 10000]

Part 1 times one redraw of ``LiveView`` on the Python side, split into its steps: the
snapshot (``tracker.snapshot()``), the DOT text (``sessionkit.diagram``), the SVG (pygraphviz,
in-process), the panels (identity map, event log, SQL as rows of text) and the widget update
(the ``frame`` trait, plain data; without a kernel no message leaves the process). The objects are persistent and
referenced, so none is garbage-collected. The median of ``--runs`` redraws is shown.

Part 2 runs a loop of ``--adds`` ``session.add`` calls with a live view open, on the real
timer thread at the default 10 redraws a second, and counts the redraws: a handful, and
the last one shows every object. It also compares the loop's time with no view open.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from typing import Any

from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

import sessionkit
from sessionkit.render.diagram import diagram
from sessionkit.render.panels import log_entries, object_rows, render_picture, sql_groups


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "bench_redraw_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


def make_session() -> Session:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    return Session(engine)


def no_timer(delay: float, action: Any) -> Any:  # noqa: ARG001 - part 1 redraws by hand
    return lambda: None


def timed(action: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def redraw_cost(size: int, runs: int) -> dict[str, float]:
    session = make_session()
    tracker = sessionkit.track(session, models=Base)
    items = [Item(name=f"item {i}") for i in range(size)]
    session.add_all(items)
    session.flush()
    view = tracker.view(schedule=no_timer, shell=None)
    steps: dict[str, list[float]] = {name: [] for name in ("snapshot", "dot", "svg", "panels", "widgets", "total")}
    gc.collect()
    for _ in range(runs):
        events = tracker.events
        t_snapshot, snapshot = timed(tracker.snapshot)
        t_dot, picture = timed(lambda snapshot=snapshot: diagram(snapshot, max_tokens=view.max_tokens))
        t_svg, _ = timed(picture.svg)
        t_panels, _ = timed(
            lambda snapshot=snapshot, events=events: (
                object_rows(snapshot),
                log_entries(events[-view.log_length :]),
                [group.frame() for group in sql_groups(events)],
            )
        )
        whole = render_picture(snapshot, events, caption=view.caption(snapshot))
        t_widgets, _ = timed(lambda whole=whole: view._show(whole))  # noqa: SLF001 - the frame trait alone
        session.add(items[0])  # a poke, so that refresh() really redraws
        t_total, _ = timed(view.refresh)
        for name, value in zip(steps, (t_snapshot, t_dot, t_svg, t_panels, t_widgets, t_total), strict=True):
            steps[name].append(value)
    dot_bytes = len(picture.source.encode())
    view.close()
    tracker.stop()
    session.close()
    result = {name: statistics.median(values) * 1000 for name, values in steps.items()}
    result["dot_kb"] = dot_bytes / 1024
    return result


def burst(adds: int, *, with_view: bool, subscribed: bool = False) -> tuple[float, int, bool]:
    """Time ``adds`` calls of ``session.add`` (objects made beforehand); count the view's redraws for them."""
    session = make_session()
    tracker = sessionkit.track(session, models=Base)
    items = [Item(name=f"item {i}") for i in range(adds)]
    if subscribed:
        tracker.subscribe(lambda _event: None)  # what any subscriber costs: the core makes each event at once
    view = tracker.view(shell=None) if with_view else None  # its first picture is drawn here, before the loop
    throttle = None if view is None else view.throttle
    runs_before = 0 if throttle is None else throttle.runs
    gc.collect()
    start = time.perf_counter()
    for item in items:
        session.add(item)
    elapsed = time.perf_counter() - start
    runs, final = 0, True
    if view is not None and throttle is not None:
        deadline = time.monotonic() + 10
        while throttle.pending and time.monotonic() < deadline:  # the last redraw comes a period after the last add
            time.sleep(0.01)
        throttle.flush()  # waits for a redraw in progress (and draws nothing more: nothing is pending)
        runs = throttle.runs - runs_before
        text = "" if view.picture is None else view.picture.text
        final = f"{adds:,} tracked" in text and "pending     -" not in text and "transient   -" in text
        view.close()
    tracker.stop()
    session.close()
    return elapsed, runs, final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1_000, 100_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--adds", type=int, default=10_000)
    args = parser.parse_args()

    print("One redraw of a live view (median ms; the view's defaults: 12 tokens a state, 20 log lines)")
    columns = ("snapshot", "DOT", "SVG", "panels", "widgets", "total", "DOT KB")
    print(f"{'objects':>9} " + " ".join(f"{name:>8}" for name in columns))
    for size in args.sizes:
        r = redraw_cost(size, args.runs)
        print(
            f"{size:>9,} "
            + " ".join(f"{r[key]:>8.2f}" for key in ("snapshot", "dot", "svg", "panels", "widgets", "total"))
            + f" {r['dot_kb']:>8.1f}"
        )
    print("  (total: one refresh(), which does all the steps once; the steps are timed apart)")

    print(f"\nA loop of {args.adds:,} session.add() calls (best of {args.runs}, interleaved)")
    plain_times, subscribed_times, viewed_times, redraws, finals = [], [], [], [], []
    for _ in range(args.runs):
        plain_times.append(burst(args.adds, with_view=False)[0])
        subscribed_times.append(burst(args.adds, with_view=False, subscribed=True)[0])
        elapsed, runs, final = burst(args.adds, with_view=True)
        viewed_times.append(elapsed)
        redraws.append(runs)
        finals.append(final)
    plain, subscribed, viewed = min(plain_times), min(subscribed_times), min(viewed_times)
    print(f"  tracked, no view:     {plain * 1000:8.1f} ms")
    print(f"  a subscriber that does nothing: {subscribed * 1000:8.1f} ms ({subscribed / plain:.2f}x)")
    print(f"  a live view open:     {viewed * 1000:8.1f} ms ({viewed / plain:.2f}x)")
    print(f"  redraws for the loop: {', '.join(map(str, redraws))} (at most 10 a second, and one after the last add)")
    print(f"  the last picture shows every object pending: {all(finals)}")


if __name__ == "__main__":
    main()
