"""The live view and the replay of a tracked session: each one anywidget.

``LiveView`` (``Tracker.view()``) redraws the state diagram, the identity map, the event log
and the SQL of each flush as events arrive; ``ReplayView`` (``Tracker.replay()``) steps
through the recorded events. Both are drawn by the views' module in ``static/`` from a ``frame`` trait of
plain data. This module imports ipywidgets and anywidget: ``import sessionkit`` does not
import it, ``Tracker.view()`` and ``Tracker.replay()`` do.
"""

from __future__ import annotations

from sessionkit.jupyter.feed import detach_views
from sessionkit.jupyter.live import LiveView
from sessionkit.jupyter.replay import ReplayView

__all__ = ["LiveView", "ReplayView", "detach_views"]
