"""How big a saved replay is: ``tracker.replay().save("replay.html")`` for 100 events with 12 objects.

Prints the file's size, the size its frames would take unpacked, and the time to build it.
Run: ``python benchmarks/bench_replay_page.py [--events N] [--objects M]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench_diagram import Base, Item
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

import sessionkit

LIMIT = 1_000_000


def session_of(events: int, objects: int) -> sessionkit.Tracker:
    """A session whose ``objects`` items go round add, flush, commit... until ``events`` are recorded."""
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    tracker = sessionkit.track(Session, models=Base)
    items = [Item(name=f"Item {i}") for i in range(objects)]
    with Session(engine, expire_on_commit=False) as session:
        round_ = 0
        while len(tracker.events) < events:
            item = items[round_ % objects]
            step = (round_ // objects) % 3
            if step == 0:
                session.add(item)
            elif step == 1:
                session.flush()
            else:
                session.commit()
            round_ += 1
    tracker.stop()
    tracker.keep = items  # type: ignore[attr-defined]
    return tracker


def measure(events: int, objects: int) -> tuple[int, int, float]:
    """(bytes of the saved file, bytes of its frames unpacked, seconds to build it)."""
    tracker = session_of(events, objects)
    replay = tracker.replay()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        path = replay.save(Path(folder) / "replay.html")
        took = time.perf_counter() - started
        size = path.stat().st_size
    unpacked = sum(len(json.dumps(dict(replay.picture_at(seq).frame()))) for seq in replay.steps)
    replay.close()
    return size, unpacked, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--objects", type=int, default=12)
    args = parser.parse_args()
    size, unpacked, took = measure(args.events, args.objects)
    print(f"A saved replay of {args.events} events with {args.objects} objects")
    print(f"  replay.html:        {size / 1000:,.0f} KB (limit {LIMIT / 1000:,.0f} KB)")
    print(f"  frames unpacked:    {unpacked / 1000:,.0f} KB (each piece stored once instead)")
    print(f"  built in:           {took:.2f} s")
    if size >= LIMIT:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
