"""Answers to predict-the-state exercises: the state an answer names, what checking it found, a quiz's score.

>>> print(Outcome(correct=False, given=ObjectState.PERSISTENT, expected=ObjectState.PENDING, counted=True))
Not quite: you said persistent, but state_of() says pending.
>>> print(Score(correct=2, answered=3, total=4, hints=1))
2 of 3 answered correctly (4 questions), 1 hint used
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from sessionkit.core.exceptions import SessionkitError
from sessionkit.core.states import STATE_ORDER, ObjectState

__all__ = ["ExerciseNotReadyError", "InvalidAnswerError", "Outcome", "Score", "inline_html", "parse_state"]

_CODE = re.compile(r"`([^`\n]+)`")


class InvalidAnswerError(SessionkitError, ValueError):
    """An answer that is not one of the states an exercise offers."""


class ExerciseNotReadyError(SessionkitError, LookupError):
    """The function given as an exercise's object could not find it (the cells it is about have not run)."""


def parse_state(answer: object, choices: Iterable[ObjectState] = STATE_ORDER) -> ObjectState:
    """The :class:`ObjectState` an answer names: a state, or its name in any case.

    >>> parse_state(" Pending ")
    <ObjectState.PENDING: 'pending'>
    >>> parse_state("pendng")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sessionkit...InvalidAnswerError: 'pendng' is not a state; answer with one of: transient, pending, ...
    """
    allowed = tuple(choices)
    names = ", ".join(state.value for state in allowed)
    state: ObjectState | None = None
    if isinstance(answer, ObjectState):
        state = answer
    elif isinstance(answer, str):
        wanted = answer.strip().lower()
        state = next((s for s in STATE_ORDER if wanted in {s.value, s.name.lower()}), None)
    if state is None:
        msg = f"{answer!r} is not a state; answer with one of: {names}."
        raise InvalidAnswerError(msg)
    if state not in allowed:
        msg = f"{state.value!r} is not among this exercise's choices; answer with one of: {names}."
        raise InvalidAnswerError(msg)
    return state


@dataclass(frozen=True, slots=True, repr=False)
class Outcome:
    """What checking one answer found: the answer given, the real state, and whether they agree."""

    correct: bool
    given: ObjectState
    expected: ObjectState
    counted: bool
    explanation: str = ""
    history: tuple[str, ...] = ()
    now: ObjectState | None = None

    @property
    def message(self) -> str:
        """The feedback in one or two sentences."""
        moved = self.now is not None and self.now is not self.expected
        if self.correct:
            verdict = f"Correct: it was {self.expected} when the question was asked." if moved else ""
            verdict = verdict or f"Correct: it is {self.expected}."
        elif moved:
            verdict = (
                f"Not quite: you said {self.given}, but state_of() said {self.expected} when the question was asked."
            )
        else:
            verdict = f"Not quite: you said {self.given}, but state_of() says {self.expected}."
        if not self.counted:
            verdict += " (Your first answer is the one that counts for the score.)"
        text = f"{verdict} {self.explanation}".strip()
        if moved:
            text += f" (Later cells have moved it on: it is {self.now} now.)"
        return text

    def __str__(self) -> str:
        lines = [self.message]
        if self.history:
            lines.append("The tracker recorded: " + " ".join(self.history))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour = "#15803d" if self.correct else "#b91c1c"
        history = ""
        if self.history:
            items = "".join(f"<li>{html.escape(line)}</li>" for line in self.history)
            history = f"<div>The tracker recorded:</div><ul>{items}</ul>"
        return f'<div style="color:{colour}">{inline_html(self.message)}</div>{history}'


class Score(NamedTuple):
    """A quiz's running score: first answers that were right, questions answered, questions asked, hints shown."""

    correct: int
    answered: int
    total: int
    hints: int = 0

    def __str__(self) -> str:
        questions = "question" if self.total == 1 else "questions"
        text = f"{self.correct} of {self.answered} answered correctly ({self.total} {questions})"
        if self.hints:
            text += f", {self.hints} hint{'s' if self.hints != 1 else ''} used"
        return text


def inline_html(text: str) -> str:
    """Escape ``text`` for HTML, showing `backticked` spans as code."""
    return _CODE.sub(r"<code>\1</code>", html.escape(text))
