"""The widgets a tracker offers, as a mixin for the public ``sessionkit.Tracker``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from sessionkit.core.tracker import Tracker
    from sessionkit.jupyter.views import LiveView, ReplayView


class TrackerViews:
    """``view()`` and ``replay()``: each one anywidget."""

    def view(self, **options: Any) -> LiveView:
        """A live widget of the diagram, identity map, event log and SQL, redrawn as events arrive."""
        from sessionkit.jupyter.views import LiveView

        return LiveView(cast("Tracker", self), **options)

    def replay(self, **options: Any) -> ReplayView:
        """A widget with Play, a slider and step buttons over the recorded events: the session after each one."""
        from sessionkit.jupyter.views import ReplayView

        return ReplayView(cast("Tracker", self), **options)
