"""Exercise widgets: real ipywidgets, clicks checked against the session, the shared score, the mimebundle."""

from __future__ import annotations

import re
from typing import Any

import ipywidgets
import pytest
from sqlalchemy.orm import Session

from sessionkit import ObjectState
from sessionkit.jupyter import exercise_widgets
from sessionkit.jupyter.exercises import Exercise, Quiz, Score
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
    assert quiz._repr_mimebundle_()[WIDGET_VIEW]["model_id"] == score.model_id


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
