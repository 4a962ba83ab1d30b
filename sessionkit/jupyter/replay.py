"""The replay: one anywidget that steps through the recorded events, in the manner of Python Tutor.

Its controls (Play/Pause, a slider, first/back/forward/last, and the arrow, Home and End
keys) are drawn by ``static/player.js``. They move the ``step`` trait; Python draws that
step's picture into the ``frame`` trait. The same JavaScript player can also step through
frames embedded in a page, with no kernel behind it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import traitlets

from sessionkit.core.events import Event
from sessionkit.core.exceptions import InvalidSettingError
from sessionkit.jupyter.pictures import DEFAULT_INTERVAL_MS, Recording
from sessionkit.jupyter.settings import check_interval_ms, check_seq
from sessionkit.jupyter.widget import PictureWidget
from sessionkit.render.diagram import DEFAULT_MAX_TOKENS
from sessionkit.render.panels import DEFAULT_LOG_LENGTH, Picture

if TYPE_CHECKING:
    from sessionkit.core.tracker import Tracker

#: The most steps a replay's ``text/html`` plays (past that it is the still picture; ``save()`` has them all).
MAX_PLAYER_STEPS = 300


class ReplayView(PictureWidget):
    """Play, a slider and step buttons over the recorded events: the session right after each one.

    At step ``k`` (the event numbered ``k``) the diagram, the identity map and the SQL show
    the session as it was right after event ``k`` (``tracker.snapshot(at=k)``), with that
    event described in words. The steps are the events recorded when the replay was made.
    """

    #: The seq number of the event shown (0 when nothing was recorded); the controls move it.
    step = traitlets.Int(0).tag(sync=True)
    #: Every step: the seq numbers of the recorded events.
    steps = traitlets.List(traitlets.Int()).tag(sync=True)
    #: Milliseconds between two steps while playing.
    interval_ms = traitlets.Int(DEFAULT_INTERVAL_MS).tag(sync=True)

    def __init__(
        self,
        tracker: Tracker,
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        show_sql: bool = True,
        log_length: int = DEFAULT_LOG_LENGTH,
        interval_ms: int = DEFAULT_INTERVAL_MS,
        start: int | None = None,
    ) -> None:
        self._recording = Recording(tracker, max_tokens=max_tokens, show_sql=show_sql, log_length=log_length)
        interval = check_interval_ms(interval_ms)
        seqs = self._recording.seqs
        step = self._recording.first_step(start)
        self.tracker = tracker
        self.picture = self._recording.picture_at(step)
        super().__init__(step=step, steps=list(seqs), interval_ms=interval, frame=dict(self.picture.frame()))

    @property
    def max_tokens(self) -> int:
        """The most tokens the diagram draws in one state."""
        return self._recording.max_tokens

    @property
    def show_sql(self) -> bool:
        """Whether the SQL of each flush is shown."""
        return self._recording.show_sql

    @property
    def log_length(self) -> int:
        """How many events the log lists, up to the step shown."""
        return self._recording.log_length

    @property
    def events(self) -> list[Event]:
        """The recorded events the replay steps through."""
        return self._recording.events

    @traitlets.validate("step")
    def _valid_step(self, proposal: dict[str, Any]) -> int:
        """Any step asked for (from Python or the browser) lands on a recorded event."""
        return self._recording.nearest(int(proposal["value"]))

    @traitlets.observe("step")
    def _step_changed(self, change: dict[str, Any]) -> None:
        self._go(change["new"])

    def show(self, seq: int) -> None:
        """Show the session right after event ``seq`` (or the last event before it)."""
        self.step = check_seq(seq, "show()")

    def _go(self, seq: int) -> None:
        if self.picture is not None and self.picture.current == seq:
            return  # already shown (the step given when the replay was made)
        try:
            picture = self.picture_at(seq)
        except Exception as error:  # noqa: BLE001 - a bad step must not break the notebook
            self._say(f"Step {seq} could not be drawn ({type(error).__name__}: {error}).")
            return
        self._display(picture)

    def picture_at(self, seq: int) -> Picture:
        """The picture of the session right after event ``seq`` (which must be one of the steps)."""
        return self._recording.picture_at(seq)

    def html(self) -> str:
        """The replay as one HTML block that plays with no kernel: every frame, the player and its controls.

        Where scripts do not run, the block shows the last frame and the steps in words.
        """
        from sessionkit.jupyter.page import pack, player_html

        recording = self._recording
        pictures = [recording.picture_at(seq) for seq in recording.seqs] or [recording.picture_at(0)]
        data = pack(
            recording.seqs, [picture.frame() for picture in pictures], start=self.step, interval=self.interval_ms
        )
        steps = [(event.seq, event.describe()) for event in recording.events]
        return player_html(data, pictures[-1], steps)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the replay to ``path`` as one self-contained HTML file that plays offline; returns the path.

        Play, the slider, the step buttons and the arrow keys work as in the notebook, with
        each step's event in words and the SQL so far. The file loads no URL.
        """
        from sessionkit.jupyter.page import player_page

        target = Path(path)
        if target.suffix.lower() not in (".html", ".htm"):
            msg = f"a replay is saved as HTML: give a file name ending in .html, not {str(path)!r}."
            raise InvalidSettingError(msg)
        title = f"sessionkit replay: {self._recording.description}"
        target.write_text(player_page(self.html(), title), encoding="utf-8")
        return target

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        data, metadata = super()._repr_mimebundle_(**kwargs)
        if len(self._recording.seqs) <= MAX_PLAYER_STEPS:
            data["text/html"] = self.html()  # nbconvert and course sites can scrub it too
        return data, metadata
