"""Predict-the-state exercises, checked against the real session with :func:`sessionkit.state_of`.

An :class:`Exercise` asks which of the five states an object is in. The answer is never
written down by the teacher: it is what ``state_of(obj)`` says at the moment the question is
asked, right after the code it is about has run. A learner who runs every cell first and
answers later is still marked against that moment (and told if the object has moved on since).
Give a function instead of the object to have it looked up at each check instead. A
:class:`sessionkit.Quiz` (``sessionkit.jupyter.quiz``) numbers its exercises and keeps a running
score (the first answer to each exercise counts; hints are counted too).

In a Jupyter kernel with ipywidgets an exercise shows as buttons (pick a state, *Check*,
*Hint*, feedback and the quiz score: ``sessionkit.jupyter.exercise_widgets``). Everywhere
else (GitHub, nbviewer, a terminal, a notebook whose widgets were not saved) it shows
statically: the question, then the hint and the answer folded away in ``<details>``. Both
views are in one mimebundle, so the front end picks what it can render. ipywidgets is
imported only when a widget is built.

``sessionkit.jupyter.quiz`` shows one being asked and answered, in an example that runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect
from sqlalchemy.exc import NoInspectionAvailable

from sessionkit.core.exceptions import InvalidSettingError, NotMappedError
from sessionkit.core.states import STATE_ORDER, ObjectState, state_of
from sessionkit.jupyter.answers import (
    ExerciseNotReadyError,
    InvalidAnswerError,
    Outcome,
    Score,
    inline_html,
    parse_state,
)
from sessionkit.jupyter.exercise_widgets import ExerciseView, mimebundle

if TYPE_CHECKING:
    from sessionkit.jupyter.quiz import Quiz

# The answers' names (errors, Outcome, Score, parse_state) are importable from here too.
__all__ = ["Exercise", "ExerciseNotReadyError", "InvalidAnswerError", "Outcome", "Score", "parse_state"]

#: What asking the same question again keeps: its number, its quiz, its answers and its hint.
KEPT_WHEN_ASKED_AGAIN = frozenset({"number", "quiz", "attempts", "hint_shown"})

#: The ways an exercise can offer its choices as a widget.
WIDGET_KINDS = ("toggle", "dropdown")


class Exercise:
    """One predict-the-state question about one object, answered against the real session.

    ``obj`` is a mapped instance: the right answer is ``state_of(obj)`` when the exercise is
    created, which is when the question is asked. Or ``obj`` is a function of no arguments
    that returns one: then the answer is looked up at every check, so the question can come
    before the code it is about. ``choices`` limits the states offered (all five by default).
    ``tracker`` (a :class:`sessionkit.Tracker`) adds what it recorded for the object to the
    feedback. ``interactive``: ``None`` shows widgets inside an IPython kernel that has
    ipywidgets, ``True`` always builds them, ``False`` never does.
    """

    def __init__(
        self,
        prompt: str,
        obj: Any,
        *,
        hint: str = "",
        explanation: str = "",
        choices: Iterable[ObjectState | str] | None = None,
        tracker: Any = None,
        interactive: bool | None = None,
        widget: str = "toggle",
        number: int | None = None,
        quiz: Quiz | None = None,
    ) -> None:
        if not isinstance(prompt, str) or not prompt.strip():
            msg = f"An exercise needs a question as a non-empty string, but was given {prompt!r}."
            raise InvalidSettingError(msg)
        if widget not in WIDGET_KINDS:
            msg = f"widget must be one of {', '.join(map(repr, WIDGET_KINDS))}, but was given {widget!r}."
            raise InvalidSettingError(msg)
        self.prompt = prompt.strip()
        self.hint = hint.strip()
        self.explanation = explanation.strip()
        self.choices = _choices(choices)
        self.tracker = tracker
        self.interactive = interactive
        self.widget_kind = widget
        self.number = number
        self.quiz = quiz
        self._obj, self._lazy = _target(obj)
        #: The object's state when the question was asked (``None`` for a function, looked up at each check).
        self.asked: ObjectState | None = None if self._lazy else state_of(obj)
        if self.asked is not None:
            self._offered(self.asked)
        self._asked_at = _last_seq(tracker) if not self._lazy else None
        self.attempts: list[Outcome] = []
        self.hint_shown = False
        self._view: Any = None

    # ------------------------------------------------------------------ checking
    @property
    def obj(self) -> Any:
        """The object the question is about (calling the function given as ``obj``, if one was)."""
        if not self._lazy:
            return self._obj
        try:
            found = self._obj()
        except Exception as error:
            problem = " ".join(f"{type(error).__name__}: {error}".split())
            msg = (
                f"The object this exercise asks about is not there yet ({problem}); "
                "run the cells it is about first, then check again."
            )
            raise ExerciseNotReadyError(msg) from error
        state_of(found)  # a clear NotMappedError if the function returned something else
        return found

    @property
    def answer(self) -> ObjectState:
        """The right answer: ``state_of(obj)`` when the question was asked (for a function: now)."""
        return state_of(self.obj) if self.asked is None else self.asked

    @property
    def answered(self) -> bool:
        """Whether the question has been answered at least once."""
        return bool(self.attempts)

    @property
    def first(self) -> Outcome | None:
        """The first answer, the one the score counts."""
        return self.attempts[0] if self.attempts else None

    def check(self, answer: ObjectState | str) -> Outcome:
        """Compare ``answer`` with the object's real state and record it (the first answer is scored)."""
        given = parse_state(answer, self.choices)
        now = state_of(self.obj)
        expected = now if self.asked is None else self.asked
        self._offered(expected)
        outcome = Outcome(
            correct=given is expected,
            given=given,
            expected=expected,
            counted=not self.attempts,
            explanation=self.explanation,
            history=self.history(),
            now=now,
        )
        self.attempts.append(outcome)
        if self.quiz is not None:
            self.quiz._changed()  # noqa: SLF001 - the quiz owns its exercises
        return outcome

    def _offered(self, state: ObjectState) -> None:
        if state not in self.choices:
            offered = ", ".join(choice.value for choice in self.choices)
            msg = (
                f"The object is really {state}, which this exercise does not offer ({offered}); "
                f"add {state.value!r} to its choices."
            )
            raise InvalidSettingError(msg)

    def show_hint(self) -> str:
        """The hint (counted in the quiz score), or a sentence saying there is none."""
        if not self.hint:
            return "This exercise has no hint."
        if not self.hint_shown:
            self.hint_shown = True
            if self.quiz is not None:
                self.quiz._changed()  # noqa: SLF001 - the quiz owns its exercises
        return self.hint

    def history(self, limit: int = 4) -> tuple[str, ...]:
        """The last ``limit`` lifecycle events and notes the tracker recorded for the object up to the question.

        A note says where the object's real state differs from what a hook said (an INSERT and a
        DELETE rolled back together fire ``deleted_to_detached`` but leave it transient), so the
        feedback never ends on a hook's word alone.
        """
        if self.tracker is None:
            return ()
        obj, until = self.obj, self._asked_at
        events = [e for e in self.tracker.events if until is None or e.seq <= until]
        labels = {e.label for e in events if e.kind == "transition" and e.instance is obj}
        told = [
            e
            for e in events
            if (e.kind == "transition" and e.instance is obj) or (e.kind == "note" and e.label in labels)
        ]
        return tuple(e.describe() for e in told[-limit:])

    def _take_over(self, fresh: Exercise) -> None:
        """Become ``fresh`` (the same question asked again), keeping the number, the answers and the hint.

        The widget is built anew for the cell that asked again; one still shown elsewhere checks
        this same exercise.
        """
        kept = {name: value for name, value in vars(self).items() if name in KEPT_WHEN_ASKED_AGAIN}
        vars(self).update(vars(fresh))
        vars(self).update(kept)
        self._view = None

    # ------------------------------------------------------------------ static view
    @property
    def title(self) -> str:
        """``Exercise 3`` in a quiz, else ``Exercise``."""
        return "Exercise" if self.number is None else f"Exercise {self.number}"

    def to_text(self) -> str:
        """The question, choices, hint and answer as plain text (the answer comes last)."""
        lines = [f"{self.title}: {self.prompt}", "Choices: " + " | ".join(s.value for s in self.choices)]
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        lines.append(f"Answer: {self._shown_answer()}. {self.explanation}".rstrip())
        return "\n".join(lines)

    def to_html(self, *, answer: bool = True) -> str:
        """The question as HTML with its choices, and the hint and the answer folded in ``<details>``.

        ``answer=False`` gives only the question (the heading of the widget view).
        """
        parts = [
            '<div class="sessionkit-exercise">',
            f"<p><strong>{self.title}.</strong> {inline_html(self.prompt)}</p>",
        ]
        if answer:
            choices = " · ".join(f"<code>{s.value}</code>" for s in self.choices)
            parts.append(f"<p>Choices: {choices}</p>")
            if self.hint:
                parts.append(f"<details><summary>Hint</summary><p>{inline_html(self.hint)}</p></details>")
            explanation = f" {inline_html(self.explanation)}" if self.explanation else ""
            parts.append(
                f"<details><summary>Answer</summary><p><strong>{self._shown_answer()}</strong>.{explanation}</p></details>"
            )
        parts.append("</div>")
        return "\n".join(parts)

    def _shown_answer(self) -> str:
        """The answer for the static view; a function whose object does not exist yet cannot give one."""
        if self.asked is not None:
            return self.asked.value
        try:
            return self.answer.value
        except Exception:  # noqa: BLE001 - a display must not fail because the code it asks about has not run
            return "decided when you check (the object does not exist yet)"

    def __repr__(self) -> str:
        return f"<sessionkit.Exercise {self.title}: {self.prompt!r}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        static = {"text/plain": self.to_text, "text/html": self.to_html}
        return mimebundle(static, self.widget, self.interactive, include, exclude)

    # ------------------------------------------------------------------ widget view
    def widget(self) -> Any:
        """The exercise as ipywidgets: choices, *Check* and *Hint* buttons, feedback and the quiz score."""
        if self._view is None:
            self._view = ExerciseView(self).box
        return self._view


# ---------------------------------------------------------------------- helpers
def _choices(choices: Iterable[ObjectState | str] | None) -> tuple[ObjectState, ...]:
    if choices is None:
        return STATE_ORDER
    if isinstance(choices, str):
        msg = f"choices must be several states, such as ['pending', 'persistent'], but was given {choices!r}."
        raise InvalidSettingError(msg)
    chosen = {parse_state(choice) for choice in choices}
    if len(chosen) < 2:  # noqa: PLR2004 - a question needs at least two answers to choose from
        msg = f"An exercise needs at least two different states to choose from, but was given {choices!r}."
        raise InvalidSettingError(msg)
    return tuple(state for state in STATE_ORDER if state in chosen)


def _target(obj: Any) -> tuple[Any, bool]:
    """``(obj, lazy)``: a mapped instance as it is, or a function to call at every check."""
    if isinstance(obj, type):
        msg = f"An exercise asks about one object, but was given the class {obj.__name__}; pass an instance of it."
        raise NotMappedError(msg)
    try:
        mapped = getattr(inspect(obj), "is_instance", False)
    except NoInspectionAvailable:
        mapped = False
    if mapped:
        return obj, False
    if callable(obj):
        return obj, True
    state_of(obj)  # raises NotMappedError with the usual message
    return obj, False  # pragma: no cover - state_of raised


def _last_seq(tracker: Any) -> int | None:
    """The number of the tracker's latest event (0 before any), or ``None`` without a tracker."""
    if tracker is None:
        return None
    events = tracker.events
    return events[-1].seq if events else 0
