"""The live view, the replay and the throttle behind them (no browser: widget traits and pictures)."""

from __future__ import annotations

import itertools
import json
import re
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.events import EventManager, available_events
from sqlalchemy.orm import Session

import sessionkit
from sessionkit import InvalidSettingError
from sessionkit.core.events import Flush, Statement
from sessionkit.jupyter.feed import Throttle
from sessionkit.jupyter.views import LiveView, ReplayView
from sessionkit.render.panels import objects_html, sql_groups
from tests.models import Author, Base, Book

SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}|model_id|[0-9a-f]{32}")


# ---------------------------------------------------------------------- helpers
class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ManualScheduler:
    """Collects scheduled runs; ``advance(s)`` moves the fake clock and runs what falls due, in order."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.queue: list[dict[str, Any]] = []

    def __call__(self, delay: float, action: Callable[[], None]) -> Callable[[], None]:
        entry = {"due": self.clock.now + delay, "delay": delay, "action": action, "cancelled": False}
        self.queue.append(entry)
        return lambda: entry.update(cancelled=True)

    @property
    def waiting(self) -> list[dict[str, Any]]:
        return [e for e in self.queue if not e["cancelled"]]

    def advance(self, seconds: float = 0.0) -> None:
        target = self.clock.now + seconds
        while True:
            due = sorted((e for e in self.waiting if e["due"] <= target), key=lambda e: e["due"])
            if not due:
                break
            entry = due[0]
            self.queue.remove(entry)
            self.clock.now = max(self.clock.now, entry["due"])
            entry["action"]()
        self.clock.now = max(self.clock.now, target)


def tokens_by_state(svg: str) -> dict[str, list[str]]:
    """Which token texts sit inside which state box, by geometry: ``{"pending": ["Author 1", ...]}``."""
    root = ET.fromstring(svg)  # noqa: S314 - our own renderer's output
    boxes = {}
    for group in root.iter(f"{SVG}g"):
        if "cluster" in (group.get("class") or "").split():
            title = group.findtext(f"{SVG}title") or ""
            shape = group.find(f"{SVG}path")
            if shape is None:
                shape = group.find(f"{SVG}polygon")
            if shape is None or not title.startswith("cluster_"):
                continue
            numbers = [float(n) for n in NUMBER.findall(shape.get("d") or shape.get("points") or "")]
            xs, ys = numbers[0::2], numbers[1::2]
            boxes[title.removeprefix("cluster_")] = (min(xs), min(ys), max(xs), max(ys))
    found: dict[str, list[str]] = {state: [] for state in boxes}
    for group in root.iter(f"{SVG}g"):
        if "node" not in (group.get("class") or "").split():
            continue
        texts = [t for t in group.iter(f"{SVG}text") if (t.text or "").strip()]
        if not texts:
            continue
        x, y = float(texts[0].get("x") or 0), float(texts[0].get("y") or 0)
        label = " ".join((t.text or "").strip() for t in texts)
        for state, (x0, y0, x1, y1) in boxes.items():
            if x0 <= x <= x1 and y0 <= y <= y1:
                found[state].append(label)
    return found


def state_of_token(svg: str, label: str) -> str | None:
    """The state box whose tokens include ``label`` (e.g. ``"Author 1"``)."""
    for state, texts in tokens_by_state(svg).items():
        if any(re.search(rf"\b{re.escape(label)}\b", text) for text in texts):
            return state
    return None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def scheduler(clock: FakeClock) -> ManualScheduler:
    return ManualScheduler(clock)


@pytest.fixture
def shell() -> Any:
    """Just enough of an IPython shell for a view: its event manager."""

    class Shell:
        def __init__(self) -> None:
            self.events = EventManager(self, available_events)

    return Shell()


@pytest.fixture
def tracker(session: Session) -> Iterator[sessionkit.Tracker]:
    with sessionkit.track(session, models=Base) as tracker:
        yield tracker


@pytest.fixture
def make_view(tracker: sessionkit.Tracker, clock: FakeClock, scheduler: ManualScheduler, shell: Any) -> Iterator[Any]:
    made: list[LiveView] = []

    def make(**options: Any) -> LiveView:
        options.setdefault("clock", clock)
        options.setdefault("schedule", scheduler)
        options.setdefault("shell", shell)
        view = tracker.view(**options)
        made.append(view)
        return view

    yield make
    for view in made:
        view.close()


# ---------------------------------------------------------------------- throttle
def test_throttle_coalesces_a_burst_into_one_run(clock: FakeClock, scheduler: ManualScheduler) -> None:
    runs: list[float] = []
    throttle = Throttle(lambda: runs.append(clock.now), 0.1, clock=clock, schedule=scheduler)
    for _ in range(10_000):
        throttle.poke()
    assert len(scheduler.waiting) == 1
    assert scheduler.waiting[0]["delay"] == 0  # idle: the first poke is drawn at once
    scheduler.advance()
    assert runs == [0.0]
    assert not throttle.pending


def test_throttle_keeps_to_its_rate_and_always_runs_after_the_last_poke(
    clock: FakeClock, scheduler: ManualScheduler
) -> None:
    runs: list[float] = []
    throttle = Throttle(lambda: runs.append(clock.now), 0.1, clock=clock, schedule=scheduler)
    for _ in range(1000):  # one poke a millisecond for one second
        throttle.poke()
        scheduler.advance(0.001)
    throttle.poke()  # the very last event
    scheduler.advance(1.0)
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    assert 9 <= len(runs) <= 12
    assert all(gap >= 0.1 - 1e-9 for gap in gaps)
    assert runs[-1] >= 1.0  # after the last poke
    assert not throttle.pending
    assert scheduler.waiting == []


def test_throttle_runs_again_when_poked_during_a_run(clock: FakeClock, scheduler: ManualScheduler) -> None:
    runs: list[float] = []

    def action() -> None:
        runs.append(clock.now)
        if len(runs) == 1:
            throttle.poke()  # an event arrives while drawing

    throttle = Throttle(action, 0.1, clock=clock, schedule=scheduler)
    throttle.poke()
    scheduler.advance(1.0)
    assert runs == [0.0, pytest.approx(0.1)]


def test_throttle_spaces_out_slow_actions(clock: FakeClock, scheduler: ManualScheduler) -> None:
    starts: list[float] = []

    def slow() -> None:
        starts.append(clock.now)
        clock.now += 0.5  # a huge session: half a second per redraw

    throttle = Throttle(slow, 0.1, clock=clock, schedule=scheduler)
    for _ in range(4):
        throttle.poke()
        scheduler.advance()
        throttle.poke()
        scheduler.advance(5.0)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) == 7
    assert gaps[0] == pytest.approx(0.5)  # one slow run alone is no reason to wait
    assert all(gap >= 0.5 / throttle.busy_share - 1e-9 for gap in gaps[1:])
    assert throttle.cost == pytest.approx(0.5)


def test_throttle_one_slow_run_does_not_hold_back_the_next(clock: FakeClock, scheduler: ManualScheduler) -> None:
    starts: list[float] = []

    def first_slow() -> None:
        starts.append(clock.now)
        if len(starts) == 1:
            clock.now += 2.0  # the first picture also reads the whole backlog

    throttle = Throttle(first_slow, 0.1, clock=clock, schedule=scheduler)
    throttle.poke()
    scheduler.advance()
    throttle.poke()
    scheduler.advance(1.0)
    assert starts == [0.0, 2.0]


def test_throttle_flush_runs_now_and_cancels_the_timer(clock: FakeClock, scheduler: ManualScheduler) -> None:
    runs: list[float] = []
    throttle = Throttle(lambda: runs.append(clock.now), 0.1, clock=clock, schedule=scheduler)
    throttle.poke()
    scheduler.advance()
    throttle.poke()
    assert scheduler.waiting[0]["delay"] == pytest.approx(0.1)
    throttle.flush()
    assert runs == [0.0, 0.0]
    scheduler.advance(1.0)
    assert len(runs) == 2  # the cancelled timer did not run again
    throttle.flush()
    assert len(runs) == 2  # nothing pending, nothing to do


def test_throttle_flush_inside_the_action_does_not_deadlock(clock: FakeClock, scheduler: ManualScheduler) -> None:
    runs: list[int] = []

    def action() -> None:
        runs.append(1)
        throttle.flush()

    throttle = Throttle(action, 0.1, clock=clock, schedule=scheduler)
    throttle.poke()
    throttle.flush()
    assert runs == [1]


def test_throttle_survives_errors_and_stops_when_closed(clock: FakeClock, scheduler: ManualScheduler) -> None:
    def broken() -> None:
        raise RuntimeError("boom")

    throttle = Throttle(broken, 0.1, clock=clock, schedule=scheduler)
    throttle.poke()
    scheduler.advance()
    assert isinstance(throttle.error, RuntimeError)
    throttle.poke()
    throttle.close()
    assert scheduler.waiting == []
    throttle.poke()
    scheduler.advance(1.0)
    assert throttle.runs == 1


def test_throttle_with_real_threads_draws_the_final_state() -> None:
    seen: list[int] = []
    value = [0]
    done = threading.Event()

    def action() -> None:
        seen.append(value[0])
        if value[0] == 5000:
            done.set()

    throttle = Throttle(action, 0.01)
    for i in range(1, 5001):
        value[0] = i
        throttle.poke()
    assert done.wait(5), seen
    throttle.close()
    assert seen[-1] == 5000
    assert len(seen) < 100


# ---------------------------------------------------------------------- the live view
def rows_of(view: Any) -> dict[str, list[str]]:
    """The identity map a view shows: ``{label: row}``."""
    return {row[0]: row for row in view.frame["objects"]["rows"]}


def log_texts(view: Any) -> list[str]:
    return [text for _, text in view.frame["log"]]


def statements_of(view: Any) -> list[dict[str, Any]]:
    return [statement for group in view.frame["sql"] for statement in group["statements"]]


def test_live_view_draws_at_once_and_redraws_coalesced(
    make_view: Any, session: Session, scheduler: ManualScheduler
) -> None:
    view = make_view()
    assert view.live
    first = view.svg
    assert first.lstrip().startswith("<?xml") or first.lstrip().startswith("<svg")
    assert set(tokens_by_state(first)) == {"transient", "pending", "persistent", "deleted", "detached"}
    assert set(tokens_by_state(view.frame["svg"])) == set(tokens_by_state(first))

    authors = [Author(name=f"a{i}") for i in range(50)]
    session.add_all(authors)
    assert view.svg == first  # nothing drawn inside the burst yet
    scheduler.advance(0.1)
    assert view.throttle.runs == 2  # the first picture, then one for the whole burst
    assert state_of_token(view.svg, "Author 50") == "pending"
    assert state_of_token(view.frame["svg"], "Author 50") == "pending"

    session.flush()
    scheduler.advance(0.05)
    assert state_of_token(view.svg, "Author 50") == "pending"  # within the 0.1 s interval
    scheduler.advance(0.05)
    tokens = tokens_by_state(view.frame["svg"])
    assert not any("Author" in text for text in tokens["pending"])
    assert sum("Author" in text for text in tokens["persistent"]) == 12
    assert "+38 more" in " ".join(tokens["persistent"])
    assert any(s["sql"].startswith("INSERT INTO sk_author") for s in statements_of(view))
    assert {row[1] for row in view.frame["objects"]["rows"]} == {"persistent"}
    assert view.frame["objects"]["more"] == 20  # 30 rows shown of 50
    assert view.frame["note"] == ""


def test_the_view_is_one_anywidget_that_composes_with_other_widgets(make_view: Any, tracker: Any) -> None:
    import anywidget
    import ipywidgets

    view = make_view()
    replay = tracker.replay()
    try:
        for widget in (view, replay):
            assert isinstance(widget, anywidget.AnyWidget)
            assert isinstance(widget, ipywidgets.Widget)
            assert widget.widget is widget
            assert widget.diagram_widget is widget
        box = ipywidgets.HBox([view, replay])
        assert box.get_state()["children"] == [f"IPY_MODEL_{view.model_id}", f"IPY_MODEL_{replay.model_id}"]
        tab = ipywidgets.Tab(children=[view])
        assert tab.children == (view,)
    finally:
        replay.close()


def test_the_front_end_is_the_static_module_and_the_traits_are_plain_data(make_view: Any, session: Session) -> None:
    author = Author(name="Ann")
    session.add(author)
    session.flush()
    author.name = "<b>&</b>"
    view = make_view()
    state = view.get_state()
    static = Path(sessionkit.__file__).parent / "jupyter" / "static"
    parts = [(static / name).read_text() for name in ("picture.js", "player.js", "widget.js")]
    assert state["_esm"] == "\n".join(parts)  # one module: the picture, then the player, then render
    assert state["_css"] == (static / "view.css").read_text()
    assert "export default { render }" in state["_esm"]
    assert "export function mountPlayer(" in state["_esm"]
    assert state["frame"] == view.frame
    frame = json.loads(json.dumps(view.frame))
    assert set(frame) == {"caption", "current", "svg", "summary", "problem", "dot", "objects", "log", "sql", "note"}
    assert frame["caption"] == view.picture.caption
    assert frame["summary"] == view.picture.text.split("\n", 1)[1]
    assert frame["current"] is None
    assert frame["objects"]["columns"] == ["object", "state", "identity", "session", "sub-states", "changes"]
    assert frame["objects"]["rows"] == [
        ["Author 1", "persistent", "1", "session 1", "dirty", "name: 'Ann' -> '<b>&</b>'"]
    ]
    assert frame["log"][-1][1] == "Author 1 went from pending to persistent (pending_to_persistent, session 1)."
    [group] = frame["sql"]
    assert group["title"].startswith("Flush (event ")
    [insert] = [statement for statement in view.tracker.statements if statement.sql.startswith("INSERT")]
    assert group["statements"] == [
        {"seq": insert.seq, "sql": insert.sql.strip(), "parameters": repr(insert.parameters)}
    ]
    assert "INSERT INTO sk_author" in insert.sql
    assert "Ann" in group["statements"][0]["parameters"]
    # no pre-rendered HTML travels: learner data stays raw text, for the front end's textContent
    rest = json.dumps({key: value for key, value in frame.items() if key != "svg"}).replace("<b>&</b>", "")
    assert "<" not in rest
    assert "&" not in rest
    assert frame["svg"].startswith("<svg")  # no XML prolog to parse in the browser


def test_live_view_panels_follow_each_step(make_view: Any, session: Session, scheduler: ManualScheduler) -> None:
    view = make_view()
    ann = Author(name="Ann")
    steps: list[tuple[Callable[[], object], str]] = [
        (lambda: session.add(ann), "pending"),
        (session.flush, "persistent"),
        (session.commit, "persistent"),
        (lambda: (session.delete(ann), session.flush()), "deleted"),
        (session.commit, "detached"),
    ]
    for step, state in steps:
        step()
        scheduler.advance(1.0)
        assert state_of_token(view.frame["svg"], "Author 1") == state, state
        assert rows_of(view)["Author 1"][1] == state
        assert view.frame == view.picture.frame()
        assert view.frame["log"][-1][0] == view.tracker.events[-1].seq
    assert any(s["sql"].startswith("DELETE FROM sk_author") for s in statements_of(view))
    assert any("committed" in text for text in log_texts(view))


def test_several_views_of_one_tracker_share_one_redraw(
    make_view: Any, tracker: sessionkit.Tracker, session: Session, scheduler: ManualScheduler, monkeypatch: Any
) -> None:
    one, two = make_view(), make_view(max_tokens=2)
    assert one.throttle is two.throttle
    snapshots: list[int] = []
    real = tracker.snapshot
    monkeypatch.setattr(tracker, "snapshot", lambda at=None: snapshots.append(1) or real(at))
    authors = [Author(), Author(), Author()]
    session.add_all(authors)
    scheduler.advance(1.0)
    assert len(snapshots) == 1
    assert one.frame["caption"] == two.frame["caption"]
    assert state_of_token(one.svg, "Author 1") == "pending"
    assert state_of_token(two.svg, "Author 3") == "pending"
    assert "+1 more" in two.frame["svg"]
    assert "+1 more" not in one.frame["svg"]


def test_a_new_view_catches_up_with_existing_ones(make_view: Any, session: Session, scheduler: ManualScheduler) -> None:
    one = make_view()
    ann = Author()
    session.add(ann)
    two = make_view()  # drawn at once, and draws the first view too
    assert one.frame == two.frame
    assert state_of_token(one.svg, "Author 1") == "pending"
    scheduler.advance(1.0)


def test_a_cell_that_changes_only_a_sub_state_is_redrawn(
    make_view: Any, session: Session, scheduler: ManualScheduler, shell: Any
) -> None:
    view = make_view()
    ann = Author(name="Ann")
    session.add(ann)
    session.flush()
    scheduler.advance(1.0)
    ann.name = "Anna"  # no session event: only a dirty flag changes
    scheduler.advance(1.0)
    assert "dirty" not in rows_of(view)["Author 1"][4]
    shell.events.trigger("post_run_cell", None)
    scheduler.advance(1.0)
    assert "dirty" in rows_of(view)["Author 1"][4]
    assert rows_of(view)["Author 1"][5] == "name: 'Ann' -> 'Anna'"
    assert "&#x27;Ann&#x27; -&gt; &#x27;Anna&#x27;" in view.picture.objects_html


def test_errors_while_drawing_never_reach_the_session(
    make_view: Any, session: Session, scheduler: ManualScheduler, monkeypatch: Any
) -> None:
    view = make_view()
    good = view.frame

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr("sessionkit.jupyter.live.render_picture", broken)
    authors = [Author(), Author()]
    session.add(authors[0])
    session.flush()  # the learner's code goes on
    scheduler.advance(1.0)
    assert isinstance(view.error, RuntimeError)
    assert view.frame["note"] == (
        "The view could not be updated (RuntimeError: renderer exploded); it shows the last good picture."
    )
    assert {**view.frame, "note": ""} == good  # the last good picture stays
    monkeypatch.undo()
    session.add(authors[1])
    scheduler.advance(1.0)
    assert view.error is None
    assert view.frame["note"] == ""
    assert state_of_token(view.svg, "Author 2") == "pending"


def test_a_diagram_that_cannot_be_rendered_shows_the_reason(make_view: Any, monkeypatch: Any) -> None:
    from sessionkit.render import diagram as diagram_module

    def no_svg(self: Any) -> str:
        raise OSError("no renderer")

    monkeypatch.setattr(diagram_module.StateDiagram, "svg", no_svg)
    view = make_view()
    assert view.error is None
    assert view.picture.svg == view.svg == view.frame["svg"] == ""
    assert "The diagram could not be drawn (OSError: no renderer)." in view.picture.diagram_html
    assert "cluster_pending" in view.picture.diagram_html  # the DOT text is shown instead
    assert view.frame["problem"] == "The diagram could not be drawn (OSError: no renderer)."
    assert "subgraph cluster_pending" in view.frame["dot"]


def test_live_view_mimebundle_is_deterministic_with_a_static_picture(make_view: Any, session: Session) -> None:
    author = Author(name="Ann")
    session.add(author)
    session.flush()
    author.name = "<script>alert(1)</script>"
    bundle, _ = make_view()._repr_mimebundle_()
    again, _ = make_view()._repr_mimebundle_(include=None, exclude=None)
    assert set(bundle) == {"application/vnd.jupyter.widget-view+json", "text/plain", "text/html"}
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert bundle["text/plain"] == again["text/plain"]
    assert bundle["text/html"] == again["text/html"]
    assert not ADDRESS.search(bundle["text/plain"])
    assert bundle["text/plain"].startswith("sessionkit live view: Session instance, after event")
    assert "persistent  Author 1 (1)" in bundle["text/plain"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in bundle["text/html"]
    assert "<svg" in bundle["text/html"]
    assert "<?xml" not in bundle["text/html"]
    assert "<script>" not in bundle["text/html"]


def test_the_mimebundle_shows_events_that_arrived_a_moment_ago(make_view: Any, session: Session) -> None:
    view = make_view()
    ann = Author()
    session.add(ann)
    data, _ = view._repr_mimebundle_()  # no timer has run: the pending draw happens now
    assert "pending     Author 1" in data["text/plain"]
    assert repr(view) == data["text/plain"]


def test_settings_are_validated_before_anything_changes(make_view: Any) -> None:
    with pytest.raises(InvalidSettingError, match="max_tokens must be a whole number of at least 1"):
        make_view(max_tokens=0)
    with pytest.raises(InvalidSettingError, match="max_redraws_per_second must be a number above 0"):
        make_view(max_redraws_per_second=0)
    with pytest.raises(InvalidSettingError, match="show_sql must be True or False"):
        make_view(show_sql="yes")
    view = make_view()
    with pytest.raises(InvalidSettingError):
        view.configure(max_tokens=3, log_length=0)
    assert (view.max_tokens, view.log_length) == (12, 20)
    assert view.frame["sql"] == []
    view.configure(show_sql=False, max_redraws_per_second=2)
    assert view.frame["sql"] is None
    assert view.throttle.interval == pytest.approx(0.5)


def test_the_fastest_view_sets_the_rate(make_view: Any) -> None:
    slow, fast = make_view(max_redraws_per_second=1), make_view(max_redraws_per_second=20)
    assert slow.throttle.interval == pytest.approx(0.05)
    fast.close()
    assert slow.throttle.interval == pytest.approx(1.0)


def test_closing_the_last_view_removes_its_listener_and_hook(
    make_view: Any, tracker: sessionkit.Tracker, shell: Any
) -> None:
    one, two = make_view(), make_view()
    assert len(tracker._wake) == 1
    assert len(shell.events.callbacks["post_run_cell"]) == 1
    one.close()
    assert len(tracker._wake) == 1
    two.detach()
    assert tracker._wake == []
    assert shell.events.callbacks["post_run_cell"] == []
    assert not two.live
    assert two.svg  # a detached view keeps its last picture
    assert two.widget is two
    assert one.widget is None
    assert one.comm is None
    data, _ = one._repr_mimebundle_()  # shown again, a closed view is its last picture, static
    assert set(data) == {"text/plain", "text/html"}


def test_a_view_of_a_stopped_tracker_says_so(make_view: Any, tracker: sessionkit.Tracker) -> None:
    tracker.stop()
    view = make_view()
    assert view.frame["caption"].endswith("(tracking stopped)")


def test_without_ipywidgets_a_view_is_a_static_picture(
    tracker: sessionkit.Tracker, session: Session, monkeypatch: Any
) -> None:
    session.add(Author(name="Ann"))
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.warns(RuntimeWarning, match="ipywidgets is not installed, so this view is a static picture"):
        view = tracker.view(shell=None)
    with pytest.warns(RuntimeWarning, match="pip install ipywidgets anywidget"):
        replay = tracker.replay(start=3)
    assert not isinstance(view, LiveView)
    assert view.widget is None
    assert not view.live
    data, _ = view._repr_mimebundle_()
    assert set(data) == {"text/plain", "text/html"}
    assert data["text/plain"].startswith("sessionkit live view: Session instance, after event 3")
    assert "pending     Author 1" in data["text/plain"]
    assert state_of_token(view.svg, "Author 1") == "pending"
    assert repr(replay).startswith("sessionkit replay: Session instance, event 3 (step 3 of 3)")
    with pytest.raises(InvalidSettingError), pytest.warns(RuntimeWarning):
        tracker.view(max_tokens=0)
    view.close()


def test_live_view_without_injection_uses_a_timer_thread(tracker: sessionkit.Tracker, session: Session) -> None:
    view = tracker.view(shell=None)
    authors = [Author() for _ in range(200)]
    try:
        session.add_all(authors)
        deadline = time.monotonic() + 5
        while state_of_token(view.frame["svg"], "Author 200") != "pending":
            assert time.monotonic() < deadline, "the final state was not drawn"
            time.sleep(0.01)
        assert view.throttle.runs < 20
    finally:
        view.close()


# ---------------------------------------------------------------------- replay
def story(session: Session) -> Author:
    ann = Author(name="Ann", books=[Book(title="T")])
    session.add(ann)
    session.flush()
    session.commit()
    session.delete(ann)
    session.flush()
    session.commit()
    return ann  # kept alive: a collected object is drawn as such, which is another lesson


def from_the_browser(replay: ReplayView, step: int) -> None:
    """What a comm message from the player's controls does: set ``step`` as the front end's state."""
    replay.set_state({"step": step})


def test_replay_shows_the_session_right_after_each_event(tracker: sessionkit.Tracker, session: Session) -> None:
    ann = story(session)  # noqa: F841
    replay = tracker.replay()
    try:
        events = tracker.events
        assert replay.steps == [e.seq for e in events]
        assert replay.step == events[0].seq
        assert replay.frame["current"] == events[0].seq
        for event in reversed(events):  # backwards too: every step is drawn from the log
            from_the_browser(replay, event.seq)
            assert replay.step == event.seq
            expected = tracker.snapshot(at=event.seq)
            assert replay.picture.text.endswith(tracker.diagram(at=event.seq).summary())
            assert event.describe() in replay.frame["caption"]
            assert replay.frame["current"] == event.seq
            assert replay.frame == replay.picture.frame()
            assert replay.svg == replay.picture.svg
            for obj in expected:
                assert state_of_token(replay.frame["svg"], obj.label) == obj.state.value
            assert replay.frame["log"][-1] == (event.seq, event.describe())
    finally:
        replay.close()


def test_replay_steps_from_python_move_the_step_trait(tracker: sessionkit.Tracker, session: Session) -> None:
    ann = story(session)  # noqa: F841
    replay = tracker.replay()
    sent: list[dict[str, Any]] = []
    replay.observe(lambda change: sent.append({change["name"]: change["new"]}), names=["step", "frame"])
    replay.show(4)
    assert replay.step == 4
    assert [next(iter(change)) for change in sent] == ["frame", "step"]  # drawn, then moved
    assert replay.frame["current"] == 4
    from_the_browser(replay, 999)  # a step past the end lands on the last event
    assert replay.step == replay.steps[-1]
    assert replay.frame["current"] == replay.steps[-1]
    replay.close()


def test_replay_traits_and_settings(tracker: sessionkit.Tracker, session: Session) -> None:
    ann = story(session)  # noqa: F841
    replay = tracker.replay(interval_ms=250, show_sql=False, log_length=3, start=6)
    state = replay.get_state()
    assert state["step"] == 6
    assert state["steps"] == replay.steps
    assert state["interval_ms"] == 250
    assert state["frame"]["sql"] is None
    assert len(state["frame"]["log"]) == 3
    assert (replay.max_tokens, replay.show_sql, replay.log_length) == (12, False, 3)
    replay.close()
    with pytest.raises(InvalidSettingError, match="interval_ms must be a whole number of milliseconds above 0"):
        tracker.replay(interval_ms=0)
    with pytest.raises(InvalidSettingError, match="log_length must be a whole number of at least 1"):
        tracker.replay(log_length=0)


def test_replay_sql_belongs_to_the_step(tracker: sessionkit.Tracker, session: Session) -> None:
    ann = story(session)  # noqa: F841
    replay = tracker.replay()
    first_insert = next(e for e in tracker.events if isinstance(e, Statement))
    replay.show(first_insert.seq - 1)
    assert replay.frame["sql"] == []
    assert "No SQL sent yet." in replay.picture.sql_html
    replay.show(first_insert.seq)
    assert statements_of(replay)[-1]["seq"] == replay.frame["current"] == first_insert.seq
    assert statements_of(replay)[-1]["sql"].startswith("INSERT INTO")
    assert 'style="font-weight:bold">INSERT INTO' in replay.picture.sql_html
    replay.show(replay.steps[-1])
    assert any(s["sql"].startswith("DELETE FROM") for s in statements_of(replay))
    replay.close()


def test_replay_shows_a_step_it_cannot_draw_in_the_view(
    tracker: sessionkit.Tracker, session: Session, monkeypatch: Any
) -> None:
    ann = story(session)  # noqa: F841
    replay = tracker.replay()
    good = replay.frame

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("no picture")

    monkeypatch.setattr("sessionkit.jupyter.pictures.render_picture", broken)
    from_the_browser(replay, 3)
    assert replay.step == 3
    assert replay.frame["note"] == "Step 3 could not be drawn (RuntimeError: no picture)."
    assert {**replay.frame, "note": ""} == good
    monkeypatch.undo()
    from_the_browser(replay, 4)
    assert replay.frame["note"] == ""
    assert replay.frame["current"] == 4
    replay.close()


def test_replay_refuses_a_step_it_does_not_have(tracker: sessionkit.Tracker, session: Session) -> None:
    ann = story(session)  # noqa: F841
    replay = tracker.replay()
    with pytest.raises(sessionkit.EventNotFoundError, match="the replay has no step 999; its steps are events 1 to"):
        replay.picture_at(999)
    replay.show(999)  # the player stops at the last event
    assert replay.step == replay.steps[-1]
    replay.close()


def test_replay_refuses_a_step_that_is_not_a_number(tracker: sessionkit.Tracker, session: Session) -> None:
    ann = story(session)  # noqa: F841
    exact = r"^start needs the seq number of an event \(a whole number\), but was given 'x'\.$"
    with pytest.raises(TypeError, match=exact):
        tracker.replay(start="x")  # type: ignore[arg-type]
    replay = tracker.replay(start=2)
    with pytest.raises(sessionkit.InvalidSettingError, match="show\\(\\) needs the seq number of an event"):
        replay.show(2.5)  # type: ignore[arg-type]
    assert replay.step == 2  # left as it was
    replay.close()


def test_replay_of_nothing(session: Session) -> None:
    with sessionkit.track(session) as tracker:
        replay = tracker.replay()
    assert replay.steps == []
    assert replay.step == 0
    assert replay.frame["caption"].endswith("nothing recorded yet")
    data, _ = replay._repr_mimebundle_()
    assert "nothing recorded yet" in data["text/plain"]
    replay.show(5)
    assert replay.step == 0
    replay.close()


def test_replay_mimebundle_is_deterministic(tracker: sessionkit.Tracker, session: Session) -> None:
    ann = story(session)  # noqa: F841
    one, two = tracker.replay(start=5), tracker.replay(start=5)
    (a, _), (b, _) = one._repr_mimebundle_(), two._repr_mimebundle_()
    assert set(a) == {"application/vnd.jupyter.widget-view+json", "text/plain", "text/html"}
    assert (
        a["application/vnd.jupyter.widget-view+json"]["model_id"]
        != b["application/vnd.jupyter.widget-view+json"]["model_id"]
    )
    assert a["text/plain"] == b["text/plain"]
    assert a["text/html"] == b["text/html"]
    assert not ADDRESS.search(a["text/plain"])
    assert a["text/plain"].startswith("sessionkit replay: Session instance, event 5 (step 5 of")
    one.close()
    two.close()


def test_replay_keeps_its_events_when_the_log_is_cleared(tracker: sessionkit.Tracker, session: Session) -> None:
    ann = story(session)  # noqa: F841
    replay = tracker.replay()
    tracker.clear()
    replay.show(replay.steps[-1])
    assert "detached" in replay.picture.text
    replay.close()


# ---------------------------------------------------------------------- static pieces
def test_text_is_the_diagram_summary_under_a_caption(make_view: Any, tracker: sessionkit.Tracker) -> None:
    view = make_view(max_tokens=3)
    caption, rest = view.picture.text.split("\n", 1)
    assert caption == view.picture.caption
    assert rest == tracker.diagram(max_tokens=3).summary()


def test_objects_table_is_escaped_and_capped(tracker: sessionkit.Tracker, session: Session) -> None:
    authors = [Author(name=f"a{i}") for i in range(40)]
    session.add_all(authors)
    session.flush()
    authors[0].name = "<b>&'\""
    snapshot = tracker.snapshot()
    assert "&lt;b&gt;&amp;" in objects_html(snapshot, limit=40)
    table = objects_html(snapshot, limit=10)
    assert table.count("<tr>") == 11  # header + 10 rows
    assert "+30 more" in table
    assert "<b>&" not in objects_html(snapshot, limit=40)
    recent = sorted(snapshot.objects, key=lambda obj: obj.last_seq or 0)[-10:]
    rows = re.findall(r"<tr><td>([^<]+)</td>", table)
    assert rows == [obj.label for obj in snapshot.objects if obj in recent]  # most recent, in label order


def test_sql_is_grouped_by_flush(tracker: sessionkit.Tracker, session: Session) -> None:
    ann = story(session)  # noqa: F841
    session.get(Author, 1)
    groups = sql_groups(tracker.events, limit=None)
    flushes = [e for e in tracker.events if isinstance(e, Flush)]
    assert [g.flush for g in groups if g.flush is not None] == flushes
    assert all(s.flush == g.flush_seq for g in groups for s in g.statements)
    assert groups[-1].flush is None  # the get() sent a SELECT outside a flush
    assert sql_groups(tracker.events, limit=2) == groups[-2:]
