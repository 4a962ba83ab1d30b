"""The widgets a tracker offers, as a mixin for the public ``sessionkit.Tracker``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from sessionkit.core.tracker import Tracker
    from sessionkit.jupyter.views import LiveView, ReplayView


class TrackerViews:
    """``view()`` and ``replay()``: each one anywidget.

    ipywidgets and anywidget are dependencies of sessionkit. Where they cannot be imported
    all the same, each gives a :class:`~sessionkit.jupyter.pictures.StillPicture` of the
    same moment instead (it has ``picture``, ``close()`` and the static picture a saved
    notebook shows), with a ``RuntimeWarning`` that says how to get live views.
    """

    def view(self, *, side: bool = False, **options: Any) -> LiveView:
        """A live widget of the diagram, identity map, event log and SQL, redrawn as events arrive.

        ``side=True`` also opens it in a JupyterLab side panel (the ``sidecar`` package), where
        it stays in sight as the learner works further down; the view returned (shown inline)
        then folds into one sentence saying where the view is, or, where no side panel
        appears, stays inline and says so.
        """
        from sessionkit.jupyter.pictures import still_view, widgets_missing

        tracker = cast("Tracker", self)
        if widgets_missing():
            return cast("LiveView", still_view(tracker, **options))
        from sessionkit.jupyter.views import LiveView

        view = LiveView(tracker, **options)
        if side:
            from sessionkit.jupyter.side import open_beside

            open_beside(view)
        return view

    def replay(self, **options: Any) -> ReplayView:
        """A widget with Play, a slider and step buttons over the recorded events: the session after each one."""
        from sessionkit.jupyter.pictures import still_replay, widgets_missing

        tracker = cast("Tracker", self)
        if widgets_missing():
            return cast("ReplayView", still_replay(tracker, **options))
        from sessionkit.jupyter.views import ReplayView

        return ReplayView(tracker, **options)
