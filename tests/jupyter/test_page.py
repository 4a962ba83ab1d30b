"""The saved replay: one self-contained HTML file, its frames packed, the same player as the widget's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

import sessionkit
from sessionkit import InvalidSettingError
from sessionkit.jupyter.page import pack
from sessionkit.jupyter.widget import view_module
from tests.models import Author


def lesson(session: Session, authors: int = 3) -> tuple[sessionkit.Tracker, list[Author]]:
    tracker = sessionkit.track(session)
    people = [Author(name=f"A{i}") for i in range(authors)]
    session.add_all(people)
    session.flush()
    session.commit()
    session.delete(people[0])
    session.commit()
    return tracker, people


def payload(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json">(.*?)</script>', html, re.DOTALL)
    assert found
    data: dict[str, object] = json.loads(found.group(1).replace("<\\/", "</"))
    return data


def test_save_writes_one_file_with_every_frame_the_player_and_no_url(session: Session, tmp_path: Path) -> None:
    tracker, _people = lesson(session)
    replay = tracker.replay()
    path = replay.save(tmp_path / "replay.html")
    page = path.read_text(encoding="utf-8")
    data = payload(page)
    assert data["steps"] == [event.seq for event in tracker.events]
    assert len(data["frames"]) == len(tracker.events)  # type: ignore[arg-type]
    assert view_module().strip()[-200:] in page  # the widget's own player
    assert "unpackFrames(data)" in page
    urls = set(re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page))
    assert urls == set(), urls
    assert "default-src 'none'" in page  # and the browser is told to fetch nothing
    replay.close()


def test_calm_frames_are_stored_once(session: Session) -> None:
    tracker, _people = lesson(session, authors=4)
    replay = tracker.replay()
    frames = [replay.picture_at(seq).frame() for seq in replay.steps]
    data = pack(replay.steps, frames)
    packed, unpacked = len(json.dumps(data)), len(json.dumps(frames))
    assert packed < unpacked / 4, (packed, unpacked)
    # Put back together as player.js's unpackFrames does, every frame is what the widget shows.
    pool = data["pool"]
    for frame, stored in zip(frames, data["frames"], strict=True):
        assert "".join(pool[i] for i in stored["svg"]) == frame["svg"]
        assert [pool[i] for i in stored["log"]] == [list(entry) for entry in frame["log"]]
        assert pool[stored["caption"]] == frame["caption"]
    replay.close()


def test_a_hundred_events_with_twelve_objects_stay_under_a_megabyte(session: Session, tmp_path: Path) -> None:
    tracker = sessionkit.track(session)
    people = [Author(name=f"A{i}") for i in range(12)]
    rounds = 0
    while len(tracker.events) < 100:
        [session.add, lambda _: session.flush(), lambda _: session.commit()][rounds // 12 % 3](people[rounds % 12])
        rounds += 1
    replay = tracker.replay()
    size = replay.save(tmp_path / "replay.html").stat().st_size
    assert size < 1_000_000
    replay.close()


def test_the_mimebundle_html_is_the_player_with_the_last_frame_and_steps_for_viewers_without_scripts(
    session: Session,
) -> None:
    tracker, _people = lesson(session)
    replay = tracker.replay()
    data, _ = replay._repr_mimebundle_()
    block = data["text/html"]
    assert block == tracker.replay()._repr_mimebundle_()[0]["text/html"]  # deterministic: no random id
    before_script = block.split('<script type="application/json">')[0]
    last = tracker.events[-1]
    assert f"after event {last.seq}" in before_script  # the last frame, static
    assert before_script.count("<li value=") >= len(tracker.events)  # the steps in words
    assert data["text/plain"] == repr(replay)
    replay.close()


def test_only_html_files(session: Session, tmp_path: Path) -> None:
    tracker, _people = lesson(session)
    replay = tracker.replay()
    with pytest.raises(InvalidSettingError, match=r"\.html"):
        replay.save(tmp_path / "replay.svg")
    replay.close()


def test_a_side_view_outside_a_kernel_is_shown_inline_and_says_so(session: Session) -> None:
    tracker = sessionkit.track(session)
    with pytest.warns(RuntimeWarning, match="Not in a Jupyter kernel, so the live view is shown inline"):
        view = tracker.view(side=True)
    assert view.side == ""
    assert view.panel is None
    view.close()
