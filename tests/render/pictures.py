"""What the render tests share: a synthetic snapshot of any size, an SVG's elements, a fresh Python process."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from sessionkit import ObjectSnapshot, ObjectState, Snapshot, Transition

ROOT = Path(__file__).resolve().parents[2]
T, PE = ObjectState.TRANSIENT, ObjectState.PENDING


def synthetic(n: int) -> Snapshot:
    """A live snapshot of ``n`` authors spread over the five states, with badges, a last move and one collected."""
    states = list(ObjectState)
    objects = [
        ObjectSnapshot(
            f"Author {i}",
            states[i % 5],
            identity=(i,) if i % 5 > 1 else None,
            last_seq=2 * i,
            dirty=i % 7 == 0,
            expired=i % 3 == 0,
        )
        for i in range(1, n + 1)
    ]
    last = Transition(2 * n, "session 1", "transient_to_pending", T, PE, f"Author {n - 4}")
    return Snapshot(objects, at=2 * n, live=True, last_transition=last, collected=("Author 0",), collected_count=1)


def svg_elements(svg: str) -> set[str]:
    root = ET.fromstring(svg.encode("utf-8"))  # noqa: S314 - our own renderer's output
    return {element.tag.rsplit("}", 1)[-1] for element in root.iter()}


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env, cwd=ROOT, timeout=60
    )
