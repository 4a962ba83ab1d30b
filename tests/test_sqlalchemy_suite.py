"""The harness that runs SQLAlchemy's own test suite plain and tracked: its comparison, allow-list and plugins.

The node ids and messages are those of a run of SQLAlchemy 2.1.9's ``test/orm``. The last tests run
the whole harness on a tiny stand-in for SQLAlchemy's tree, with the real plugins and the installed
SQLAlchemy, so they take a few seconds, not minutes.
"""

from __future__ import annotations

import doctest
import itertools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy

import suite.outcomes
from suite.__main__ import main, verdict_lines
from suite.outcomes import (
    ABSENT,
    Allowance,
    AllowListError,
    Difference,
    Result,
    Run,
    count,
    differences,
    judge,
    read_allow_list,
)
from suite.runs import PLUGINS

ALLOWED = Path(suite.outcomes.__file__).parent / "allowed_differences.txt"

EVENTS = "test/orm/test_events.py::SessionEventsTest"
TRANSACTION = "test/orm/test_transaction.py::SessionTransactionTest_sqlite+pysqlite_3_40_1"
RELATIONSHIPS = "test/orm/test_relationships.py::DependencyTwoParentTest"
HAND_FIRED = f"{EVENTS}::test_sessionmaker_gen_after_session_listen"
MOCK_DIALECT = "sqlalchemy.exc.InvalidRequestError: No such event 'do_execute' for target '<Mock name='mock.dialect'>'"


def passed(*nodeids: str) -> dict[str, Result]:
    return dict.fromkeys(nodeids, Result("passed"))


def hand_fired() -> list[str]:
    """The 16 parametrizations, as pytest names them: [False-False-False-False] to [True-True-True-True]."""
    return [f"{HAND_FIRED}[{'-'.join(flags)}]" for flags in itertools.product(("False", "True"), repeat=4)]


def test_the_module_examples_run() -> None:
    assert doctest.testmod(suite.outcomes).failed == 0


# ---------------------------------------------------------------------- differences
def test_a_changed_outcome_is_a_difference_and_the_same_outcome_is_not() -> None:
    plain = passed(f"{EVENTS}::test_flush_autocommit_hook", f"{TRANSACTION}::test_execution_options_begin_transaction")
    plain[f"{TRANSACTION}::test_savepoint"] = Result("skipped")
    tracked = dict(plain)
    tracked[f"{TRANSACTION}::test_execution_options_begin_transaction"] = Result("failed", MOCK_DIALECT)

    assert differences(plain, tracked) == [
        Difference(
            f"{TRANSACTION}::test_execution_options_begin_transaction", Result("passed"), Result("failed", MOCK_DIALECT)
        )
    ]
    assert differences(plain, dict(plain)) == []


def test_a_message_alone_is_no_difference() -> None:
    plain = {f"{TRANSACTION}::test_x": Result("failed", "AssertionError: 1 != 2")}
    tracked = {f"{TRANSACTION}::test_x": Result("failed", "AssertionError: 1 != 3")}
    assert differences(plain, tracked) == []


def test_a_teardown_error_after_a_pass_is_a_difference() -> None:
    nodeid = f"{RELATIONSHIPS}::test_DeleteMiddleTable"
    tracked = {nodeid: Result("passed+error", "RuntimeError: dictionary changed size during iteration")}
    assert [d.tracked.outcome for d in differences(passed(nodeid), tracked)] == ["passed+error"]


def test_tests_run_in_one_pass_only_are_differences_in_run_order() -> None:
    plain = passed("a.py::T::one", "a.py::T::two", "a.py::T::three")
    tracked = passed("a.py::T::new", "a.py::T::one")  # a run stopped early (--maxfail), and a test the other lacks

    found = differences(plain, tracked)

    assert [(d.nodeid, d.plain.outcome, d.tracked.outcome) for d in found] == [
        ("a.py::T::two", "passed", ABSENT),
        ("a.py::T::three", "passed", ABSENT),
        ("a.py::T::new", ABSENT, "passed"),
    ]


def test_counts_are_those_of_pytests_summary() -> None:
    results = [Result("passed"), Result("passed"), Result("failed"), Result("passed+error"), Result("error")]
    results += [Result("skipped"), Result("xfailed")]
    assert count(results) == {"passed": 3, "failed": 1, "error": 2, "skipped": 1, "xfailed": 1}


# ---------------------------------------------------------------------- the allow-list
def test_an_entry_without_parameters_covers_every_parametrization_and_nothing_else() -> None:
    entry = Allowance(HAND_FIRED, "fired by hand")
    assert entry.covers(HAND_FIRED)
    assert all(entry.covers(nodeid) for nodeid in hand_fired())
    assert not entry.covers(f"{EVENTS}::test_sessionmaker_gen_after_session_listen_twice")  # a longer name
    assert not entry.covers(f"{EVENTS}::test_sessionmaker_gen")
    assert not entry.covers(f"{EVENTS}x::test_sessionmaker_gen_after_session_listen[False-False-False-False]")


def test_an_entry_with_parameters_covers_that_parametrization_only() -> None:
    first, second, *_ = hand_fired()
    entry = Allowance(first, "fired by hand")
    assert entry.covers(first)
    assert not entry.covers(second)
    assert not entry.covers(HAND_FIRED)


def test_the_allow_list_skips_comments_and_blank_lines_and_keeps_line_numbers() -> None:
    text = (
        f"# why these\n\n{HAND_FIRED} | fires before_flush by hand\n   # indented comment\n{EVENTS}::test_y | other\n"
    )
    assert read_allow_list(text) == [
        Allowance(HAND_FIRED, "fires before_flush by hand", 3),
        Allowance(f"{EVENTS}::test_y", "other", 5),
    ]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (HAND_FIRED, "not an entry"),  # no reason
        (f"{HAND_FIRED} |   ", "not an entry"),  # an empty reason
        ("test_sessionmaker_gen_after_session_listen | fired by hand", "not an entry"),  # not a node id
        (f"{EVENTS}::test a | fired by hand", "not an entry"),  # a space in the node id
    ],
)
def test_a_line_that_is_not_an_entry_is_refused_with_its_number(line: str, problem: str) -> None:
    with pytest.raises(AllowListError, match=rf"^allowed.txt, line 2: .*{problem}.*then ' \| '"):
        read_allow_list(f"# header\n{line}\n", "allowed.txt")


def test_a_test_allowed_twice_is_refused() -> None:
    with pytest.raises(AllowListError, match=r"line 2: .* already allowed on line 1"):
        read_allow_list(f"{HAND_FIRED} | one reason\n{HAND_FIRED} | another\n")


def test_the_committed_allow_list_allows_nothing() -> None:
    # Every test of test/orm has the same outcome tracked as plain, the hand-fired hooks included.
    assert read_allow_list(ALLOWED.read_text(encoding="utf-8"), str(ALLOWED)) == []


# ---------------------------------------------------------------------- the verdict
def test_the_verdict_of_the_2_1_9_run() -> None:
    known_bugs = {
        f"{TRANSACTION}::test_execution_options_begin_transaction": Result("failed", MOCK_DIALECT),
        f"{TRANSACTION}::test_execution_options_ignored_mid_transaction": Result("failed", MOCK_DIALECT),
        f"{RELATIONSHIPS}::test_DeleteMiddleTable": Result("passed+error", "RuntimeError: dictionary changed size"),
        f"{RELATIONSHIPS}::test_DeleteRootTable": Result("error", "AssertionError: previous item was not torn down"),
    }
    plain = passed(f"{EVENTS}::test_flush_autocommit_hook", *hand_fired(), *known_bugs)
    tracked = {**plain, **dict.fromkeys(hand_fired(), Result("failed", "TypeError: missing 3 arguments")), **known_bugs}

    allowed = read_allow_list(f"{HAND_FIRED} | the test fires before_flush by hand with no arguments\n")
    verdict = judge(differences(plain, tracked), allowed, tracked)

    assert [difference.nodeid for difference in verdict.unexpected] == list(known_bugs)
    assert [difference.nodeid for difference, _ in verdict.allowed] == hand_fired()
    assert not verdict.passed
    assert verdict.unneeded == []


def test_an_entry_whose_tests_ran_the_same_is_unneeded_and_one_whose_tests_did_not_run_is_not() -> None:
    entries = [Allowance(HAND_FIRED, "fired by hand"), Allowance(f"{TRANSACTION}::test_other_file", "elsewhere")]
    runs = passed(*hand_fired())

    verdict = judge(differences(runs, dict(runs)), entries, runs)

    assert verdict.passed
    assert verdict.unneeded == [entries[0]]


def test_at_most_100_unexpected_differences_are_printed(tmp_path: Path) -> None:
    plain = passed(*(f"test/orm/test_a.py::T::test_{n}" for n in range(250)))
    verdict = judge(differences(plain, {}), [], {})  # a tracked pass that crashed at once

    lines = verdict_lines(verdict, tmp_path / "all.txt")

    assert "Unexpected differences: 250" in lines
    assert [line for line in lines if line.startswith("  test/")][-1] == "  test/orm/test_a.py::T::test_99"
    assert lines[-1] == f"  ... and 150 more: every one is in {tmp_path / 'all.txt'}"


# ---------------------------------------------------------------------- the plugins and the whole harness
STAND_IN_TESTS = """
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session, SessionEvents


def test_uses_a_session():
    with Session(create_engine("sqlite://")) as session:
        assert session.execute(text("select 1")).scalar() == 1


def test_clears_the_session_listeners():
    SessionEvents._clear()  # as SQLAlchemy's RemoveORMEventsGlobally does after each test


def test_sees_the_listeners_back():
    with Session(create_engine("sqlite://")) as session:
        session.execute(text("select 1"))


def test_counts_session_listeners():  # passes plain, fails tracked: a difference on purpose
    assert not Session().dispatch.after_begin


@pytest.mark.skip(reason="not here")
def test_skipped():
    pass


@pytest.mark.xfail(strict=True)
def test_xfailed():
    raise ValueError


@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown broke")


def test_passes_then_its_teardown_fails(broken_teardown):
    pass
"""


@pytest.fixture
def stand_in(tmp_path: Path) -> Path:
    """A cache holding a stand-in for the unpacked sources of the installed SQLAlchemy."""
    tree = tmp_path / "cache" / f"sqlalchemy-{sqlalchemy.__version__}"
    (tree / "test" / "orm").mkdir(parents=True)
    (tree / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tree / "test" / "orm" / "test_stand_in.py").write_text(STAND_IN_TESTS, encoding="utf-8")
    return tmp_path / "cache"


def test_the_outcome_plugin_counts_as_pytest_does(stand_in: Path, tmp_path: Path) -> None:
    tree = next(stand_in.iterdir())
    outcomes = tmp_path / "outcomes.json"
    command = [sys.executable, "-s", "-m", "pytest", "test/orm", "-p", "no:cacheprovider", "-p", "record_outcomes"]
    done = subprocess.run(
        [*command, f"--record-outcomes={outcomes}"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(PLUGINS), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        check=False,
    )

    run = Run.load(outcomes)
    test = "test/orm/test_stand_in.py::test_"
    assert run.tests[f"{test}passes_then_its_teardown_fails"] == Result("passed+error", "RuntimeError: teardown broke")
    assert run.tests[f"{test}xfailed"].outcome == "xfailed"
    assert run.tests[f"{test}skipped"].outcome == "skipped"
    assert run.counts() == {"passed": 5, "error": 1, "skipped": 1, "xfailed": 1}
    assert done.stdout.rstrip().splitlines()[-1].strip("= ").startswith("5 passed, 1 skipped, 1 xfailed, 1 error")
    assert run.sqlalchemy_version == sqlalchemy.__version__
    assert run.exitstatus == 1


def test_the_harness_fails_on_a_difference_and_names_it(stand_in: Path, capsys: pytest.CaptureFixture[str]) -> None:
    allowed = stand_in / "allowed.txt"
    allowed.write_text("", encoding="utf-8")

    assert main(["--cache", str(stand_in), "--allowed", str(allowed)]) == 1

    out = capsys.readouterr().out
    assert "Unexpected differences: 1\n  test/orm/test_stand_in.py::test_counts_session_listeners\n" in out
    assert "      tracked failed: assert not " in out
    report = json.loads((stand_in / "runs" / sqlalchemy.__version__ / "tracked-tracking.json").read_text())
    assert report["attachments"] == 2  # at the start, and after test_clears_the_session_listeners
    assert report["events"] > 0
    assert report["errors"] == []


def test_the_harness_passes_when_the_difference_is_allowed(
    stand_in: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed = stand_in / "allowed.txt"
    allowed.write_text("test/orm/test_stand_in.py::test_counts_session_listeners | counts listeners\n")
    monkeypatch.chdir(Path(sys.executable).parent)  # --python relative to here, as CI gives .venv-sqla20/bin/python

    assert (
        main(
            [
                "--python",
                f"./{Path(sys.executable).name}",
                "--cache",
                str(stand_in),
                "--allowed",
                str(allowed),
                "--one-by-one",
            ]
        )
        == 0
    )

    out = capsys.readouterr().out
    assert "Allowed differences: 1\n  1 x test/orm/test_stand_in.py::test_counts_session_listeners: counts" in out
    header, plain, tracked = (line.split() for line in out.splitlines()[1:4])
    assert dict(zip(["pass", *header], plain, strict=True)) == {
        "pass": "plain",
        "passed": "5",
        "failed": "0",
        "error": "1",
        "skipped": "1",
        "xfailed": "1",
    }
    assert tracked[:3] == ["tracked", "4", "1"]


def test_an_exception_while_reading_the_log_fails_the_harness(
    stand_in: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = next(path for path in stand_in.iterdir() if path.is_dir())
    (tree / "conftest.py").write_text(
        textwrap.dedent("""
            import sessionkit

            def broken(tracker):
                raise RuntimeError("the log cannot be read")

            sessionkit.Tracker.events = property(broken)
        """),
        encoding="utf-8",
    )
    allowed = stand_in / "allowed.txt"
    allowed.write_text("test/orm/test_stand_in.py::test_counts_session_listeners | counts listeners\n")

    assert main(["--cache", str(stand_in), "--allowed", str(allowed)]) == 1

    out = capsys.readouterr().out
    assert "Unexpected differences: 0" in out
    assert "Exceptions raised by tracking (reading the log included): 2" in out  # before re-attaching, and at the end
    assert "tracking raised RuntimeError('the log cannot be read') reading the log at the end of the run" in out
