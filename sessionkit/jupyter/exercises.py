"""Predict-the-state exercises, checked against the real session with :func:`sessionkit.state_of`.

An :class:`Exercise` asks which of the five states an object is in. The answer is never
written down by the teacher: it is what ``state_of(obj)`` says at the moment the question is
asked, right after the code it is about has run. A learner who runs every cell first and
answers later is still marked against that moment (and told if the object has moved on since).
Give a function instead of the object to have it looked up at each check instead. A
:class:`Quiz` numbers its exercises and keeps a running score (the first answer to each
exercise counts; hints are counted too).

In a Jupyter kernel with ipywidgets an exercise shows as buttons (pick a state, *Check*,
*Hint*, feedback and the quiz score: ``sessionkit.jupyter.exercise_widgets``). Everywhere
else (GitHub, nbviewer, a terminal, a notebook whose widgets were not saved) it shows
statically: the question, then the hint and the answer folded away in ``<details>``. Both
views are in one mimebundle, so the front end picks what it can render. ipywidgets is
imported only when a widget is built.

>>> from sqlalchemy import Integer, create_engine
>>> from sqlalchemy.orm import DeclarativeBase, Session, mapped_column
>>> class Base(DeclarativeBase): pass
>>> class Author(Base):
...     __tablename__ = "author"
...     id = mapped_column(Integer, primary_key=True)
>>> session = Session(create_engine("sqlite://"))
>>> ann = Author()
>>> session.add(ann)
>>> quiz = Quiz("Adding", interactive=False)
>>> exercise = quiz.ask("After `session.add(ann)`, which state is `ann` in?", ann, hint="No SQL has run yet.")
>>> print(exercise.check("persistent"))
Not quite: you said persistent, but state_of() says pending.
>>> print(quiz.score)
0 of 1 answered correctly (1 question)
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.exc import NoInspectionAvailable

from sessionkit.core.exceptions import InvalidSettingError, NotMappedError
from sessionkit.core.states import STATE_ORDER, ObjectState, state_of
from sessionkit.jupyter.answers import InvalidAnswerError, Outcome, Score, inline_html, parse_state
from sessionkit.jupyter.exercise_widgets import ExerciseView, ScoreView, mimebundle

# InvalidAnswerError, Outcome, Score and parse_state are the answers' names, importable from here too.
__all__ = ["Exercise", "InvalidAnswerError", "Outcome", "Quiz", "Score", "parse_state"]

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
        found = self._obj()
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

    def history(self, limit: int = 3) -> tuple[str, ...]:
        """The last ``limit`` lifecycle events the tracker recorded for the object up to the question."""
        if self.tracker is None:
            return ()
        obj, until = self.obj, self._asked_at
        moves = [t for t in self.tracker.transitions if t.instance is obj and (until is None or t.seq <= until)]
        return tuple(t.describe() for t in moves[-limit:])

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


class Quiz:
    """A numbered set of exercises with a running score.

    Options given here (``tracker``, ``interactive``, ``widget``) are the defaults of every
    exercise :meth:`ask` creates.
    """

    def __init__(
        self, title: str = "Quiz", *, tracker: Any = None, interactive: bool | None = None, widget: str = "toggle"
    ) -> None:
        self.title = title
        self.tracker = tracker
        self.interactive = interactive
        self.widget_kind = widget
        self.exercises: list[Exercise] = []
        self._score_view: ScoreView | None = None

    def ask(self, prompt: str, obj: Any, **options: Any) -> Exercise:
        """Add an exercise about ``obj`` (see :class:`Exercise` for the options) and return it to display."""
        options.setdefault("tracker", self.tracker)
        options.setdefault("interactive", self.interactive)
        options.setdefault("widget", self.widget_kind)
        exercise = Exercise(prompt, obj, number=len(self.exercises) + 1, quiz=self, **options)
        self.exercises.append(exercise)
        self._changed()
        return exercise

    @property
    def score(self) -> Score:
        """First answers that were right, questions answered, questions asked and hints shown."""
        firsts = [e.first for e in self.exercises if e.first is not None]
        return Score(
            correct=sum(o.correct for o in firsts),
            answered=len(firsts),
            total=len(self.exercises),
            hints=sum(e.hint_shown for e in self.exercises),
        )

    def __len__(self) -> int:
        return len(self.exercises)

    def __getitem__(self, number: int) -> Exercise:
        """Exercise ``number``, counting from 1 as the exercises are titled."""
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= len(self.exercises):
            span = f"1 to {len(self.exercises)}" if self.exercises else "none yet"
            msg = f"{self.title!r} has no exercise {number!r}; its exercises are numbered {span}."
            raise IndexError(msg)
        return self.exercises[number - 1]

    def summary(self) -> str:
        """The score and, for each exercise, how it was answered."""
        lines = [f"{self.title}: {self.score}"]
        for exercise in self.exercises:
            first = exercise.first
            if first is None:
                mark = "not answered yet"
            else:
                mark = f"{'right' if first.correct else 'wrong'} (said {first.given}, was {first.expected})"
            lines.append(f"  {exercise.number:>2}. {mark}")
        return "\n".join(lines)

    def score_widget(self) -> Any:
        """One HTML widget showing the running score; every exercise of the quiz shows this same widget."""
        if self._score_view is None:
            self._score_view = ScoreView(self)
        return self._score_view.widget

    def _changed(self) -> None:
        if self._score_view is not None:
            self._score_view.update()

    def __repr__(self) -> str:
        return f"<sessionkit.Quiz {self.title!r}: {self.score}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        static = {"text/plain": self.summary, "text/html": lambda: "<pre>" + html.escape(self.summary()) + "</pre>"}
        return mimebundle(static, self.score_widget, self.interactive, include, exclude)


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
