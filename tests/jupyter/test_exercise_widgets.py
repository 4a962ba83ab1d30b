"""Exercise widgets: real ipywidgets, clicks checked against the session, the shared score, the mimebundle."""

from __future__ import annotations

import logging
import re
from typing import Any

import ipywidgets
import pytest
from sqlalchemy.orm import Session

from sessionkit import ObjectState
from sessionkit.jupyter import exercise_widgets
from sessionkit.jupyter.exercises import Exercise, Score
from sessionkit.jupyter.quiz import Quiz
from tests.models import Author

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def parts(exercise: Exercise) -> tuple[Any, Any, Any, Any, Any]:
    """The interactive pieces of an exercise's widget: choice, Check, Hint, feedback, whole box."""
    box = exercise.widget()
    choice, buttons, feedback = box.children[1], box.children[2], box.children[3]
    check, hint = buttons.children
    return choice, check, hint, feedback, box


def test_outside_a_kernel_no_widget_is_built_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    exercise = Exercise("Which state?", Author())
    assert WIDGET_VIEW not in exercise._repr_mimebundle_()
    assert exercise._view is None
    forced = Exercise("Which state?", Author(), interactive=True)._repr_mimebundle_()
    assert set(forced) == {"text/plain", "text/html", WIDGET_VIEW}
    assert re.fullmatch(r"[0-9a-f]{32}", forced[WIDGET_VIEW]["model_id"])
    monkeypatch.setattr(exercise_widgets, "_in_kernel", lambda: True)
    assert WIDGET_VIEW in Exercise("Which state?", Author())._repr_mimebundle_()


def test_include_and_exclude_are_honoured() -> None:
    exercise = Exercise("Which state?", Author(), interactive=True)
    assert set(exercise._repr_mimebundle_(include={"text/plain"})) == {"text/plain"}
    assert set(exercise._repr_mimebundle_(exclude={WIDGET_VIEW, "text/html"})) == {"text/plain"}
    quiz = Quiz("Q", interactive=True)
    assert set(quiz._repr_mimebundle_(exclude={WIDGET_VIEW})) == {"text/plain", "text/html"}


# ---------------------------------------------------------------------- widgets
def test_the_widget_is_made_of_real_ipywidgets_and_built_once(session: Session) -> None:
    exercise = Quiz("Q", interactive=True).ask("Which state?", Author(), hint="Look.")
    choice, check, hint, feedback, box = parts(exercise)
    assert isinstance(box, ipywidgets.VBox)
    assert isinstance(choice, ipywidgets.ToggleButtons)
    assert [label for label, _ in choice.options] == ["transient", "pending", "persistent", "deleted", "detached"]
    assert choice.value is None
    assert (check.description, hint.description, hint.disabled) == ("Check", "Hint", False)
    assert feedback.value == ""
    assert "Answer" not in box.children[0].value  # the widget view never shows the answer before a check
    assert exercise.widget() is box


def test_clicking_check_compares_the_pick_with_the_real_session(session: Session) -> None:
    ann = Author(name="Ann")
    session.add(ann)
    quiz = Quiz("Q", interactive=True)
    exercise = quiz.ask("Which state is ann in?", ann)
    choice, check, _, feedback, _ = parts(exercise)

    check.click()
    assert feedback.value == "<div>Pick a state first, then press <b>Check</b>.</div>"
    assert quiz.score.answered == 0

    choice.value = ObjectState.PERSISTENT
    check.click()
    assert "Not quite: you said persistent, but state_of() says pending." in feedback.value
    session.flush()  # a later cell moves ann on: the question was about the moment it was asked
    check.click()
    assert "state_of() said pending when the question was asked" in feedback.value
    assert "it is persistent now" in feedback.value
    choice.value = ObjectState.PENDING
    check.click()
    assert "Correct: it was pending when the question was asked." in feedback.value
    assert [o.correct for o in exercise.attempts] == [False, False, True]
    assert quiz.score == Score(correct=0, answered=1, total=1)


def test_clicking_check_on_a_function_reads_the_session_at_the_click(session: Session) -> None:
    ann = Author(name="Ann")
    exercise = Exercise("Which state will ann be in after the next cell?", lambda: ann, interactive=True)
    choice, check, _, feedback, _ = parts(exercise)
    choice.value = ObjectState.PENDING
    session.add(ann)  # the next cell runs, then the learner checks
    check.click()
    assert feedback.value.startswith('<div style="color:#15803d">Correct: it is pending.')


def test_the_score_widget_is_shared_and_updates_on_every_check(session: Session) -> None:
    ann, bob = Author(name="Ann"), Author(name="Bob")
    session.add(ann)
    quiz = Quiz("Adding", interactive=True)
    one, two = quiz.ask("ann?", ann, hint="h"), quiz.ask("bob?", bob)
    *_, box_one = parts(one)
    choice_two, check_two, _, _, box_two = parts(two)
    score = quiz.score_widget()
    assert box_one.children[-1] is score
    assert box_two.children[-1] is score
    assert score.value == '<div class="sessionkit-score"><b>Adding</b>: 0 of 0 answered correctly (2 questions)</div>'
    choice_two.value = ObjectState.TRANSIENT
    check_two.click()
    assert "1 of 1 answered correctly (2 questions)" in score.value
    _, _, hint_one, feedback_one, _ = parts(one)
    hint_one.click()
    assert feedback_one.value == "<div><b>Hint:</b> h</div>"
    assert "1 hint used" in score.value
    quiz.ask("third?", Author())
    assert "(3 questions)" in score.value
    summary = quiz.summary_widget()
    assert quiz._repr_mimebundle_()[WIDGET_VIEW]["model_id"] == summary.model_id  # displaying the quiz
    assert quiz._repr_mimebundle_()[WIDGET_VIEW]["model_id"] == summary.model_id  # ... again: the same live summary
    assert "1 of 1 answered correctly (3 questions), 1 hint used" in summary.value
    assert "<li value=2>right (said transient, was transient)</li>" in summary.value


def test_the_hint_button_is_disabled_without_a_hint_and_escapes_its_text() -> None:
    plain = Exercise("Which state?", Author(), interactive=True)
    _, _, hint, _, box = parts(plain)
    assert hint.disabled
    assert len(box.children) == 4  # no quiz, no score
    hinted = Exercise("Which state?", Author(), hint="Is `x` < 1?", interactive=True)
    _, _, hint, feedback, _ = parts(hinted)
    hint.click()
    assert feedback.value == "<div><b>Hint:</b> Is <code>x</code> &lt; 1?</div>"


def test_a_dropdown_can_replace_the_buttons(session: Session) -> None:
    ann = Author(name="Ann")
    exercise = Exercise("Which state?", ann, widget="dropdown", choices=["transient", "pending"])
    choice, check, _, feedback, _ = parts(exercise)
    assert isinstance(choice, ipywidgets.Dropdown)
    assert [label for label, _ in choice.options] == ["transient", "pending"]
    choice.value = ObjectState.TRANSIENT
    check.click()
    assert feedback.value.startswith('<div style="color:#15803d">Correct: it is transient.')


# ---------------------------------------------------------------------- errors in a click show in the widget
def click_and_read(
    button: Any, feedback: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> str:
    """Click as the front end does; the error must show in the feedback, and nowhere else."""
    with caplog.at_level(logging.DEBUG):
        button.click()
    assert caplog.records == []  # ipywidgets logs an exception a callback lets out
    assert capsys.readouterr() == ("", "")  # ... or prints its traceback, inside IPython
    return str(feedback.value)


def red(sentence: str) -> str:
    return f'<div style="color:#b91c1c">{sentence}</div>'


def test_check_on_a_deferred_question_whose_object_does_not_exist_yet(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    quiz = Quiz("Q", interactive=True)
    exercise = quiz.ask("Which state will `bo` be in?", lambda: bo)  # type: ignore[name-defined]  # noqa: F821
    choice, check, _, feedback, _ = parts(exercise)
    choice.value = ObjectState.PENDING
    assert click_and_read(check, feedback, capsys, caplog) == red(
        "The object this exercise asks about is not there yet (NameError: name &#x27;bo&#x27; is not defined); "
        "run the cells it is about first, then check again."
    )
    assert quiz.score.answered == 0


def test_check_on_a_function_that_returns_no_mapped_object(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    exercise = Exercise("Which state?", lambda: "ann", interactive=True)
    choice, check, _, feedback, _ = parts(exercise)
    choice.value = ObjectState.PENDING
    assert click_and_read(check, feedback, capsys, caplog) == red(
        "state_of() needs an instance of a mapped class, but was given &#x27;ann&#x27;; "
        "pass an object created from an ORM-mapped class."
    )


def test_check_when_the_object_has_moved_out_of_the_offered_choices(
    session: Session, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    ann = Author(name="Ann")
    exercise = Exercise("Which state?", lambda: ann, choices=["transient", "pending"], interactive=True)
    choice, check, _, feedback, _ = parts(exercise)
    choice.value = ObjectState.PENDING
    session.add(ann)
    session.flush()  # persistent: not among the choices
    assert click_and_read(check, feedback, capsys, caplog) == red(
        "The object is really persistent, which this exercise does not offer (transient, pending); "
        "add &#x27;persistent&#x27; to its choices."
    )


def test_hint_shows_its_own_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    exercise = Quiz("Q", interactive=True).ask("Which state?", Author(), hint="Look.")
    _, _, hint, feedback, _ = parts(exercise)

    def broken() -> str:
        raise RuntimeError("the hint could not be read\nsecond line")

    monkeypatch.setattr(exercise, "show_hint", broken)
    assert click_and_read(hint, feedback, capsys, caplog) == red(
        "Hint could not finish: RuntimeError: the hint could not be read second line."
    )


def test_every_button_of_the_widget_is_guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    exercise = Quiz("Q", interactive=True).ask("Which state?", Author(), hint="Look.")
    box = exercise.widget()
    buttons = [w for row in box.children for w in getattr(row, "children", ()) if isinstance(w, ipywidgets.Button)]
    assert [b.description for b in buttons] == ["Check", "Hint"]
    monkeypatch.setattr(exercise, "check", lambda _answer: 1 / 0)
    monkeypatch.setattr(exercise, "show_hint", lambda: 1 / 0)
    exercise_widgets_view = exercise._view
    assert exercise_widgets_view is box
    parts(exercise)[0].value = ObjectState.TRANSIENT
    for button in buttons:
        box.children[3].value = ""
        button.click()  # raises nothing
        assert box.children[3].value == red(
            f"{button.description} could not finish: ZeroDivisionError: division by zero."
        )


def test_asking_again_builds_a_fresh_widget_and_the_old_one_still_counts(session: Session) -> None:
    quiz = Quiz("Q", interactive=True)
    exercise = quiz.ask("Which state is ann in?", Author(name="Ann"))
    old_choice, old_check, *_, old_box = parts(exercise)
    again = quiz.ask("Which state is ann in?", Author(name="Ann"))
    assert again is exercise
    new_box = parts(again)[-1]
    assert new_box is not old_box
    old_choice.value = ObjectState.TRANSIENT
    old_check.click()
    assert quiz.score == Score(correct=1, answered=1, total=1)
