"""A quiz: numbered predict-the-state exercises, a running score, and results a teacher can collect.

Asking the same question again (a learner re-running its cell) replaces the exercise in place:
it keeps its number, its answers and the score. ``quiz`` shows a summary that stays current
wherever it is displayed; :meth:`Quiz.results` gives the answers as a DataFrame and
:meth:`Quiz.save_results` writes them as JSON beside the notebook. Nothing leaves the machine.

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
>>> quiz.ask("After `session.add(ann)`, which state is `ann` in?", ann) is exercise  # the cell ran again
True
>>> print(quiz.summary())
Adding: 0 of 1 answered correctly (1 question)
   1. wrong (said persistent, was pending)
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sessionkit.jupyter.answers import Score
from sessionkit.jupyter.exercise_widgets import ScoreView, mimebundle
from sessionkit.jupyter.exercises import Exercise

if TYPE_CHECKING:
    from pandas import DataFrame

__all__ = ["RESULT_COLUMNS", "Quiz"]

#: The columns of :meth:`Quiz.results`, one row per exercise.
RESULT_COLUMNS = ("number", "question", "answered", "first_answer", "correct", "right_answer", "attempts", "hint_used")


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
        self._summary_view: ScoreView | None = None

    def ask(self, prompt: str, obj: Any, **options: Any) -> Exercise:
        """Add an exercise about ``obj`` (see :class:`Exercise` for the options) and return it to display.

        The same question asked again (its cell run again) replaces the earlier exercise, which
        keeps its number, its answers and so the score.
        """
        options.setdefault("tracker", self.tracker)
        options.setdefault("interactive", self.interactive)
        options.setdefault("widget", self.widget_kind)
        fresh = Exercise(prompt, obj, number=len(self.exercises) + 1, quiz=self, **options)
        earlier = next((e for e in self.exercises if e.prompt == fresh.prompt), None)
        if earlier is not None:
            earlier._take_over(fresh)  # noqa: SLF001 - the quiz owns its exercises
            fresh = earlier
        else:
            self.exercises.append(fresh)
        self._changed()
        return fresh

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
        lines += [f"  {number:>2}. {mark}" for number, mark in self._marks()]
        return "\n".join(lines)

    def summary_html(self) -> str:
        """The summary as HTML: the score, then one line per exercise."""
        items = "".join(f"<li value={number}>{html.escape(mark)}</li>" for number, mark in self._marks())
        title, score = html.escape(self.title), html.escape(str(self.score))
        return f'<div class="sessionkit-summary"><b>{title}</b>: {score}<ol>{items}</ol></div>'

    def _marks(self) -> list[tuple[int | None, str]]:
        marks = []
        for exercise in self.exercises:
            first = exercise.first
            if first is None:
                mark = "not answered yet"
            else:
                mark = f"{'right' if first.correct else 'wrong'} (said {first.given}, was {first.expected})"
            marks.append((exercise.number, mark))
        return marks

    # ------------------------------------------------------------------ results
    def result_rows(self) -> list[dict[str, Any]]:
        """One plain dict per exercise, with the keys :data:`RESULT_COLUMNS` (no right answer before one is given)."""
        rows = []
        for exercise in self.exercises:
            first = exercise.first
            rows.append(
                {
                    "number": exercise.number,
                    "question": exercise.prompt,
                    "answered": first is not None,
                    "first_answer": None if first is None else first.given.value,
                    "correct": None if first is None else first.correct,
                    "right_answer": None if first is None else first.expected.value,
                    "attempts": len(exercise.attempts),
                    "hint_used": exercise.hint_shown,
                }
            )
        return rows

    def results(self) -> DataFrame:
        """The answers as a pandas DataFrame, one row per exercise (columns: :data:`RESULT_COLUMNS`)."""
        import pandas as pd

        frame = pd.DataFrame(self.result_rows(), columns=list(RESULT_COLUMNS))
        # Nullable types: an unanswered question shows <NA>, not NaN or a float column.
        types = {"question": "string", "first_answer": "string", "correct": "boolean", "right_answer": "string"}
        typed: DataFrame = frame.astype(types)
        return typed

    def save_results(self, path: str | Path | None = None) -> Path:
        """Write the score and the answers as JSON and return the file's path; nothing is sent anywhere.

        By default the file is ``<title>-results.json`` in the working directory, which in Jupyter
        is the notebook's own folder: ``Predict the state`` writes ``predict-the-state-results.json``.
        """
        if path is None:
            stem = re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "quiz"
            path = Path(f"{stem}-results.json")
        target = Path(path)
        score = self.score
        document = {
            "quiz": self.title,
            "score": {"correct": score.correct, "answered": score.answered, "total": score.total, "hints": score.hints},
            "exercises": self.result_rows(),
        }
        target.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return target.resolve()

    # ------------------------------------------------------------------ widgets
    def score_widget(self) -> Any:
        """One HTML widget showing the running score; every exercise of the quiz shows this same widget."""
        if self._score_view is None:
            self._score_view = ScoreView(self, detailed=False)
        return self._score_view.widget

    def summary_widget(self) -> Any:
        """One HTML widget showing the summary, kept current: what displaying the quiz shows, as often as asked."""
        if self._summary_view is None:
            self._summary_view = ScoreView(self, detailed=True)
        return self._summary_view.widget

    def _changed(self) -> None:
        for view in (self._score_view, self._summary_view):
            if view is not None:
                view.update()

    def __repr__(self) -> str:
        return f"<sessionkit.Quiz {self.title!r}: {self.score}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        static = {"text/plain": self.summary, "text/html": self.summary_html}
        return mimebundle(static, self.summary_widget, self.interactive, include, exclude)
