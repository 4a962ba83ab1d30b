"""Answers: the state an answer names, and what checking it found."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from sessionkit import ObjectState, SessionkitError
from sessionkit.jupyter.answers import InvalidAnswerError, Outcome, parse_state
from sessionkit.jupyter.exercises import Exercise
from tests.models import Author


# ---------------------------------------------------------------------- answers
@pytest.mark.parametrize(
    ("answer", "state"),
    [
        ("pending", ObjectState.PENDING),
        (" Persistent ", ObjectState.PERSISTENT),
        ("DETACHED", ObjectState.DETACHED),
        (ObjectState.DELETED, ObjectState.DELETED),
    ],
)
def test_an_answer_is_a_state_or_its_name_in_any_case(answer: object, state: ObjectState) -> None:
    assert parse_state(answer) is state


@pytest.mark.parametrize("answer", ["pendng", "", 3, None, "persisted"])
def test_an_answer_that_is_no_state_lists_the_accepted_ones(answer: object) -> None:
    with pytest.raises(InvalidAnswerError) as caught:
        parse_state(answer)
    message = str(caught.value)
    assert message == (
        f"{answer!r} is not a state; answer with one of: transient, pending, persistent, deleted, detached."
    )
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, SessionkitError)


def test_an_answer_outside_the_exercise_choices_lists_them() -> None:
    with pytest.raises(
        InvalidAnswerError,
        match=r"^'deleted' is not among this exercise's choices; answer with one of: pending, persistent\.$",
    ):
        parse_state("deleted", (ObjectState.PENDING, ObjectState.PERSISTENT))


def test_outcome_messages(session: Session) -> None:
    ann = Author(name="Ann")
    session.add(ann)
    exercise = Exercise("Which state?", ann, explanation="It waits for the flush.")
    wrong = exercise.check("transient")
    right = exercise.check("pending")
    assert str(wrong) == "Not quite: you said transient, but state_of() says pending. It waits for the flush."
    assert str(right) == (
        "Correct: it is pending. (Your first answer is the one that counts for the score.) It waits for the flush."
    )
    assert repr(right) == str(right)
    assert (wrong.counted, right.counted) == (True, False)
    assert "#b91c1c" in wrong._repr_html_()
    assert "#15803d" in right._repr_html_()


def test_an_outcome_is_a_value() -> None:
    outcome = Outcome(correct=True, given=ObjectState.PENDING, expected=ObjectState.PENDING, counted=True)
    assert outcome.message == "Correct: it is pending."
    with pytest.raises(AttributeError):
        outcome.correct = False  # type: ignore[misc]
