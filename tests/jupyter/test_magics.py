"""``%load_ext sessionkit`` and the ``%sessionkit`` magics, through a real IPython shell."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from IPython.core.error import UsageError
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

from sessionkit import Tracker
from sessionkit.jupyter.magics import SessionkitMagics
from sessionkit.jupyter.views import LiveView, ReplayView
from sessionkit.render.panels import StaticView
from tests.jupyter.shell import magics, run_cell


class TrackedSession(Session):
    """A Session subclass, as some projects define one."""


def listeners(trackers: list[Tracker]) -> list[tuple[Any, str, Any]]:
    return [entry for tracker in trackers for entry in tracker._listeners]


def one_sentence(message: str) -> bool:
    """One line, ending in a full stop, no traceback."""
    return "\n" not in message and message.endswith(".") and "Traceback" not in message


# ---------------------------------------------------------------------- loading
def test_load_registers_one_line_and_cell_magic(shell: Any) -> None:
    assert "sessionkit" in shell.magics_manager.magics["line"]
    assert "sessionkit" in shell.magics_manager.magics["cell"]
    assert magics(shell) in shell.configurables
    run_cell(shell, "%load_ext sessionkit")  # IPython says it is loaded; nothing doubles
    from sessionkit.jupyter.magics import load_ipython_extension

    load_ipython_extension(shell)
    assert sum(isinstance(c, SessionkitMagics) for c in shell.configurables) == 1


def test_unload_removes_magics_listeners_hooks_and_trackers(shell: Any) -> None:
    run_cell(shell, "%sessionkit track session --models Base")
    run_cell(shell, "%sessionkit track Maker")
    run_cell(shell, "%sessionkit track")
    view = run_cell(shell, "%sessionkit view")
    run_cell(shell, "ann = Author(name='Ann'); session.add(ann); session.flush()")
    found = magics(shell)
    trackers = list(found.trackers.values())
    attached = listeners(trackers)
    assert len(attached) > 20
    assert all(event.contains(on, name, fn) for on, name, fn in attached)
    assert view.live

    run_cell(shell, "%unload_ext sessionkit")

    assert "sessionkit" not in shell.magics_manager.magics["line"]
    assert "sessionkit" not in shell.magics_manager.magics["cell"]
    assert SessionkitMagics.__name__ not in dict(shell.magics_manager.registry)
    assert not any(isinstance(c, SessionkitMagics) for c in shell.configurables)
    assert not any(event.contains(on, name, fn) for on, name, fn in attached)
    assert not any(tracker.active for tracker in trackers)
    assert not view.live
    assert all(tracker._subscribers == [] and tracker._wake == [] for tracker in trackers)
    with pytest.raises(UsageError):
        run_cell(shell, "%sessionkit")
    run_cell(shell, "%load_ext sessionkit")  # and back again
    assert "sessionkit" in shell.magics_manager.magics["line"]


# ---------------------------------------------------------------------- track
def test_track_a_session_by_name(shell: Any) -> None:
    tracker = run_cell(shell, "%sessionkit track session --models Base")
    assert isinstance(tracker, Tracker)
    assert magics(shell).trackers == {"session": tracker}
    run_cell(shell, "ann = Author(name='Ann'); session.add(ann); session.commit()")
    assert [t.hook for t in tracker.transitions] == ["transient_to_pending", "pending_to_persistent"]
    assert tracker.events[0].kind == "created"


@pytest.mark.parametrize(
    ("setup", "name", "description"),
    [
        ("", "Maker", "sessionmaker"),
        ("scoped = scoped_session(Maker)", "scoped", "scoped_session"),
        ("Sub = TrackedSession", "Sub", "every TrackedSession"),
        ("", "", "every Session"),
    ],
)
def test_track_factories_classes_and_every_session(shell: Any, setup: str, name: str, description: str) -> None:
    shell.user_ns.update(scoped_session=scoped_session, TrackedSession=TrackedSession)
    run_cell(shell, setup)
    tracker = run_cell(shell, f"%sessionkit track {name}")
    assert tracker.target.description == description
    factory = "TrackedSession(bind=engine)" if name == "Sub" else "Maker()"
    run_cell(shell, f"other = {factory}; ann = Author(); other.add(ann); other.close()")
    assert "transient_to_pending" in [t.hook for t in tracker.transitions]
    shell.user_ns.pop("scoped_session")
    shell.user_ns.pop("TrackedSession")


def test_track_twice_keeps_the_tracker_and_a_new_object_gets_a_new_one(shell: Any, Maker: Any) -> None:  # noqa: N803
    first = run_cell(shell, "%sessionkit track session")
    run_cell(shell, "ann = Author(); session.add(ann)")
    assert run_cell(shell, "%sessionkit track session") is first  # re-running the cell loses nothing
    shell.user_ns["session"] = Maker()
    second = run_cell(shell, "%sessionkit track session")
    assert second is not first
    assert not first.active
    assert magics(shell).trackers == {"session": second}
    shell.user_ns["session"].close()


def test_dotted_names_are_followed(shell: Any) -> None:
    run_cell(shell, "class Holder: pass\nmarker = Holder(); marker.db = session")
    tracker = run_cell(shell, "%sessionkit track marker.db")
    assert tracker.target.description == "Session instance"
    assert "marker.db" in magics(shell).trackers


# ---------------------------------------------------------------------- the subcommands
def test_view_is_a_live_view_with_the_configured_settings(shell: Any) -> None:
    run_cell(shell, "%sessionkit track session --models Base")
    run_cell(shell, "%config SessionkitMagics.max_tokens = 3")
    run_cell(shell, "%config SessionkitMagics.show_sql = False")
    view = run_cell(shell, "%sessionkit view")
    assert isinstance(view, LiveView)
    assert (view.max_tokens, view.show_sql) == (3, False)
    run_cell(shell, "ann = Author(name='Ann'); session.add(ann)")
    view.refresh()
    assert "Author 1" in view.diagram_widget.svg
    run_cell(shell, "%config SessionkitMagics.max_tokens = 5")
    run_cell(shell, "%config SessionkitMagics.max_redraws_per_second = 4")
    assert view.max_tokens == 5
    assert view.throttle is not None
    assert view.throttle.interval == pytest.approx(0.25)
    assert magics(shell).views == [view]


def test_diagram_log_sql_map_and_replay(shell: Any) -> None:
    run_cell(shell, "%sessionkit track session --models Base")
    run_cell(shell, "ann = Author(name='Ann'); session.add(ann); session.commit()")
    picture = run_cell(shell, "%sessionkit diagram")
    assert type(picture).__name__ == "StateDiagram"
    assert "persistent  Author 1 (1) [expired]" in repr(picture)

    log = run_cell(shell, "%sessionkit log -n 2")
    events = magics(shell).trackers["session"].events
    assert isinstance(log, StaticView)
    assert repr(log).splitlines() == [f"{e.seq:>5}. {e.describe()}" for e in events[-2:]]
    assert len(repr(run_cell(shell, "%sessionkit log")).splitlines()) == len(events) == 7  # fewer than log_length

    sql = run_cell(shell, "%sessionkit sql")
    assert repr(sql).startswith("Flush (event 4): session 1 flushed: 1 new")
    assert "INSERT INTO sk_author" in sql._repr_html_()

    identity_map = repr(run_cell(shell, "%sessionkit map"))
    assert identity_map.splitlines()[1].split() == ["Author", "1", "persistent", "1", "session", "1", "expired"]

    replay = run_cell(shell, "%sessionkit replay")
    assert isinstance(replay, ReplayView)
    assert replay.steps == list(range(1, 8))


def test_subcommands_take_a_tracked_name(shell: Any) -> None:
    run_cell(shell, "Other = sessionmaker(bind=engine)")
    run_cell(shell, "%sessionkit track session")
    run_cell(shell, "%sessionkit track Other")
    run_cell(shell, "ann = Author(); session.add(ann)")
    assert "No events yet." in repr(run_cell(shell, "%sessionkit log"))  # the last tracked is the default
    assert "transient_to_pending" in repr(run_cell(shell, "%sessionkit log session"))


def test_bare_magic_shows_what_is_tracked_and_how(shell: Any, capsys: Any) -> None:
    run_cell(shell, "%sessionkit")
    out = capsys.readouterr().out
    assert out.startswith("sessionkit is tracking nothing yet; start with %sessionkit track NAME.")
    for form in ("track NAME [--models BASE]", "view", "diagram", "log [-n N]", "sql", "map", "replay", "stop"):
        assert f"%sessionkit {form}" in out
    assert "%%sessionkit [NAME]" in out
    run_cell(shell, "%sessionkit track session")
    run_cell(shell, "%sessionkit")
    assert "sessionkit is tracking:\n  session: Session instance, 0 events" in capsys.readouterr().out


def test_stop_one_or_all(shell: Any, capsys: Any) -> None:
    first = run_cell(shell, "%sessionkit track session")
    second = run_cell(shell, "%sessionkit track Maker")
    attached = listeners([first, second])
    run_cell(shell, "%sessionkit stop session")
    assert not first.active
    assert second.active
    assert list(magics(shell).trackers) == ["Maker"]
    run_cell(shell, "%sessionkit stop")
    assert not second.active
    assert not any(event.contains(on, name, fn) for on, name, fn in attached)
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Stopped")]
    assert printed == ["Stopped tracking session.", "Stopped tracking Maker."]


# ---------------------------------------------------------------------- the cell magic
def test_cell_magic_on_an_untracked_session_leaves_no_listener(shell: Any, session: Session) -> None:
    report = run_cell(shell, "%%sessionkit session\nann = Author()\nsession.add(ann)")
    assert "Author 1 went from transient to pending" in repr(report)
    assert magics(shell).trackers == {}
    assert not session.dispatch.transient_to_pending


def test_cell_magic_with_a_wrong_name_does_not_run_the_cell(shell: Any) -> None:
    with pytest.raises(UsageError, match="No variable named 'sesion' exists in this notebook"):
        run_cell(shell, "%%sessionkit sesion\nmarker = 1")
    assert "marker" not in shell.user_ns


# ---------------------------------------------------------------------- mistakes
MISTAKES = [
    ("%sessionkit trak session", r"Unknown subcommand 'trak'; did you mean 'track'\? use one of track, view"),
    ("%sessionkit track sesion", r"No variable named 'sesion' exists in this notebook \(did you mean 'session'\?\)"),
    ("%sessionkit track engine", r"'engine' \(of type Engine\) is not a session; %sessionkit track needs"),
    ("%sessionkit track 1x", r"'1x' is not a variable name"),
    ("%sessionkit track session.nope", r"'session' has no attribute 'nope'"),
    ("%sessionkit track session --models engine", r"--models needs a declarative base or mapped class"),
    ("%sessionkit track session --models Nope", r"No variable named 'Nope'"),
    ("%sessionkit view", r"Nothing is tracked yet; run %sessionkit track NAME first"),
    ("%sessionkit log", r"Nothing is tracked yet"),
    ("%sessionkit replay", r"Nothing is tracked yet"),
    ("%sessionkit stop", r"Nothing is tracked, so there is nothing to stop"),
    ("%sessionkit log -n x", r"argument -n: invalid int value: 'x'; log is written %sessionkit log \[NAME\] \[-n N\]"),
    ("%sessionkit view --bogus", r"unrecognized arguments: --bogus"),
    ("%sessionkit view -n 3", r"-n only applies to log; run %sessionkit log -n 3\."),
    ("%sessionkit view --models Base", r"--models only applies to track"),
    ("%sessionkit -n 3", r"Options need a subcommand: -n belongs to log, as in %sessionkit log -n 10\.$"),
    ("%sessionkit --models Base", r"Options need a subcommand: --models belongs to track, as in %sessionkit track"),
    ("%sessionkit track a b c", r"unrecognized arguments: b c"),
    ("%sessionkit log 'unbalanced", r"Could not split"),
]


@pytest.mark.parametrize(("line", "message"), MISTAKES)
def test_mistakes_raise_one_actionable_sentence_and_change_nothing(shell: Any, line: str, message: str) -> None:
    before = dict(magics(shell).trackers)
    with pytest.raises(UsageError, match=message) as caught:
        run_cell(shell, line)
    assert one_sentence(str(caught.value)), str(caught.value)
    assert magics(shell).trackers == before


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%sessionkit log -n 0", r"-n must be at least 1, but was given 0; for example %sessionkit log -n 10\."),
        ("%sessionkit view nope", r"'nope' is not tracked \(tracked: session\); run %sessionkit track nope first\."),
        ("%sessionkit stop session nope", r"unrecognized arguments: nope"),
        ("%sessionkit stop nope", r"'nope' is not tracked"),
    ],
)
def test_mistakes_with_a_tracker_change_nothing(shell: Any, line: str, message: str) -> None:
    tracker = run_cell(shell, "%sessionkit track session")
    with pytest.raises(UsageError, match=message) as caught:
        run_cell(shell, line)
    assert one_sentence(str(caught.value))
    assert magics(shell).trackers == {"session": tracker}
    assert tracker.active


PARSE_ERRORS = [
    (
        "%sessionkit track session --modles Base",
        (
            "unrecognized arguments: --modles Base; track is written %sessionkit track [NAME] [--models BASE], "
            "e.g. %sessionkit track Session --models Base (see %sessionkit?)."
        ),
    ),
    (
        "%sessionkit track --models",
        (
            "argument --models: expected one argument; track is written %sessionkit track [NAME] [--models BASE], "
            "e.g. %sessionkit track Session --models Base (see %sessionkit?)."
        ),
    ),
    (
        "%sessionkit view --bogus",
        (
            "unrecognized arguments: --bogus; view is written %sessionkit view [NAME] [--side], e.g. %sessionkit view "
            "(see %sessionkit?)."
        ),
    ),
    (
        "%sessionkit log -n x",
        (
            "argument -n: invalid int value: 'x'; log is written %sessionkit log [NAME] [-n N], "
            "e.g. %sessionkit log -n 10 (see %sessionkit?)."
        ),
    ),
    (
        "%sessionkit --bogus",
        (
            "unrecognized arguments: --bogus; start with a subcommand "
            "(track, view, diagram, log, sql, map, replay, stop), e.g. %sessionkit log -n 10."
        ),
    ),
]


@pytest.mark.parametrize(("line", "message"), PARSE_ERRORS)
def test_a_line_that_does_not_parse_shows_its_own_subcommands_form(shell: Any, line: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        run_cell(shell, line)
    assert str(caught.value) == message


def test_a_cell_line_that_does_not_parse_shows_the_cell_magics_form(shell: Any) -> None:
    with pytest.raises(UsageError) as caught:
        run_cell(shell, "%%sessionkit session extra\nmarker = 1")
    assert str(caught.value) == (
        "unrecognized arguments: extra; %%sessionkit takes at most one NAME, as in %%sessionkit session "
        "(see %sessionkit?)."
    )
    assert "marker" not in shell.user_ns


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "%sessionkit track Author",
            (
                "'Author' is a mapped class, not a session; track the Session or sessionmaker your code uses and give "
                "the declarative base with --models, e.g. %sessionkit track Session --models Base."
            ),
        ),
        (
            "%sessionkit track Base",
            (
                "'Base' is a declarative base, not a session; track the Session or sessionmaker your code uses "
                "and give the declarative base with --models, e.g. %sessionkit track Session --models Base."
            ),
        ),
    ],
)
def test_tracking_a_model_says_what_it_is_and_what_to_pass(shell: Any, line: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        run_cell(shell, line)
    assert str(caught.value) == message
    assert "DeclarativeAttributeIntercept" not in str(caught.value)


def test_a_session_that_is_not_one_is_refused_before_tracking(shell: Any) -> None:
    run_cell(shell, "marker = 42")
    with pytest.raises(UsageError) as caught:
        run_cell(shell, "%sessionkit track marker")
    assert str(caught.value) == (
        "'marker' (of type int) is not a session; %sessionkit track needs the name of a Session, "
        "sessionmaker, scoped_session or Session subclass."
    )
    assert magics(shell).trackers == {}


def test_without_widgets_the_magics_load_and_a_view_is_a_still_picture() -> None:
    code = (
        "import sys, warnings\n"
        "sys.modules['ipywidgets'] = None; sys.modules['anywidget'] = None\n"
        "from IPython.testing.globalipapp import start_ipython\n"
        "ip = start_ipython()\n"
        "ip.run_cell('%load_ext sessionkit', store_history=False).raise_error()\n"
        "ip.run_cell('from sqlalchemy import create_engine; from sqlalchemy.orm import Session').raise_error()\n"
        "ip.run_cell('session = Session(create_engine(\"sqlite://\"))').raise_error()\n"
        "ip.run_cell('tracker = %sessionkit track session').raise_error()\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    ip.run_cell('view = %sessionkit view').raise_error()\n"
        "print(type(ip.user_ns['view']).__name__, [str(w.message).split(' is not installed, ')[1] for w in caught])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    expected = (
        "StillPicture ['so this view is a static picture that does not update; "
        "install ipywidgets and anywidget (pip install ipywidgets anywidget) for live views.']"
    )
    assert result.stdout.strip().splitlines()[-1] == expected
