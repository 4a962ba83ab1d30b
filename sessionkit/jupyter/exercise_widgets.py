"""The ipywidgets view of an exercise and a quiz's score, and the mimebundle that offers them.

An exercise shows as buttons (pick a state, *Check*, *Hint*), its feedback, and its quiz's
score; every exercise of a quiz shows the one score widget. Whatever goes wrong in a click
(a function given as the object that cannot find it yet, say) shows in the feedback as one
sentence, never only in the front end's log. The mimebundle holds the static
text and HTML and, inside an IPython kernel that has ipywidgets (or when asked for), the
widget's view, so the front end picks what it can render. ipywidgets is imported only when
a widget is built, and IPython never.
"""

from __future__ import annotations

import functools
import html
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sessionkit.core.exceptions import SessionkitError
from sessionkit.jupyter.answers import inline_html

if TYPE_CHECKING:
    from sessionkit.jupyter.exercises import Exercise
    from sessionkit.jupyter.quiz import Quiz

__all__ = ["WIDGET_VIEW", "ExerciseView", "ScoreView", "mimebundle", "problem_sentence"]

#: The mimetype of a widget's view in a mimebundle.
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class ExerciseView:
    """The widgets of one exercise and their click handlers; ``box`` holds them all."""

    def __init__(self, exercise: Exercise) -> None:
        widgets = _ipywidgets()
        self.exercise = exercise
        options = [(state.value, state) for state in exercise.choices]
        if exercise.widget_kind == "dropdown":
            self.choice = widgets.Dropdown(options=options, value=None, description="State:")
        else:
            self.choice = widgets.ToggleButtons(options=options, value=None)
        self.check_button = widgets.Button(description="Check", button_style="primary", icon="check")
        self.hint_button = widgets.Button(description="Hint", icon="lightbulb-o", disabled=not exercise.hint)
        self.feedback = widgets.HTML(value="")
        self.check_button.on_click(self._safely("Check", self.on_check))
        self.hint_button.on_click(self._safely("Hint", self.on_hint))
        children = [
            widgets.HTML(value=exercise.to_html(answer=False)),
            self.choice,
            widgets.HBox([self.check_button, self.hint_button]),
            self.feedback,
        ]
        if exercise.quiz is not None:
            children.append(exercise.quiz.score_widget())
        self.box = widgets.VBox(children)
        self.box.add_class("sessionkit-exercise")

    def _safely(self, button: str, handler: Callable[[Any], None]) -> Callable[[Any], None]:
        """``handler`` for a click on ``button``, showing any error it raises in the feedback."""

        @functools.wraps(handler)
        def click(widget: Any = None) -> None:
            try:
                handler(widget)
            except Exception as error:  # noqa: BLE001 - shown to the learner, who would otherwise see nothing
                self.feedback.value = f'<div style="color:#b91c1c">{html.escape(problem_sentence(button, error))}</div>'

        return click

    def on_check(self, _button: Any = None) -> None:
        """Check the picked state against the real session and show the outcome."""
        if self.choice.value is None:
            self.feedback.value = "<div>Pick a state first, then press <b>Check</b>.</div>"
            return
        self.feedback.value = self.exercise.check(self.choice.value)._repr_html_()

    def on_hint(self, _button: Any = None) -> None:
        """Show the hint (the quiz counts it)."""
        self.feedback.value = f"<div><b>Hint:</b> {inline_html(self.exercise.show_hint())}</div>"


def problem_sentence(button: str, error: Exception) -> str:
    """What went wrong in a click on ``button``, as one sentence.

    >>> problem_sentence("Check", ZeroDivisionError("division by zero"))
    'Check could not finish: ZeroDivisionError: division by zero.'
    """
    if isinstance(error, SessionkitError):  # sessionkit's own messages are written as one sentence
        return " ".join(str(error).split())
    detail = " ".join(str(error).split()).rstrip(".")
    return f"{button} could not finish: {type(error).__name__}{': ' + detail if detail else ''}."


class ScoreView:
    """A quiz's running score (``detailed``: its summary) as one HTML widget (``widget``), redrawn on every change."""

    def __init__(self, quiz: Quiz, *, detailed: bool = False) -> None:
        self.quiz = quiz
        self.detailed = detailed
        self.widget = _ipywidgets().HTML(value=self.html())

    def html(self) -> str:
        """The score as HTML: the quiz's title and how its questions were answered (each one, if detailed)."""
        if self.detailed:
            return self.quiz.summary_html()
        title, score = html.escape(self.quiz.title), html.escape(str(self.quiz.score))
        return f'<div class="sessionkit-score"><b>{title}</b>: {score}</div>'

    def update(self) -> None:
        """Show the quiz's score as it is now."""
        self.widget.value = self.html()


def mimebundle(
    static: Mapping[str, Callable[[], str]],
    widget: Callable[[], Any],
    interactive: bool | None,
    include: Any = None,
    exclude: Any = None,
) -> dict[str, Any]:
    """The static views that ``include`` and ``exclude`` let through, and the widget's view where it can show.

    ``static`` maps mimetypes to the functions that draw them; ``widget`` builds the widget.
    ``interactive``: ``None`` adds the widget inside an IPython kernel that has ipywidgets,
    ``True`` always, ``False`` never.
    """

    def wanted(mimetype: str) -> bool:
        return (not include or mimetype in include) and not (exclude and mimetype in exclude)

    bundle: dict[str, Any] = {mimetype: draw() for mimetype, draw in static.items() if wanted(mimetype)}
    if wanted(WIDGET_VIEW) and _wants_widgets(interactive):
        bundle[WIDGET_VIEW] = widget()._repr_mimebundle_()[WIDGET_VIEW]
    return bundle


def _ipywidgets() -> Any:
    try:
        import ipywidgets
    except ImportError:
        msg = "The exercise widgets need ipywidgets (pip install ipywidgets); the static view works without it."
        raise ImportError(msg) from None
    return ipywidgets


def _in_kernel() -> bool:
    """Whether we run inside an IPython kernel (which can show widgets), without importing IPython."""
    if "ipykernel" not in sys.modules:
        return False
    ipython = sys.modules.get("IPython")
    shell = None if ipython is None else ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _wants_widgets(interactive: bool | None) -> bool:
    if interactive is not None:
        return interactive
    if not _in_kernel():
        return False
    try:
        _ipywidgets()
    except ImportError:
        return False
    return True
