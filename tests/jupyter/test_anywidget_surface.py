"""The views use only anywidget's standard surface, which every host that renders anywidgets provides.

JupyterLab, Notebook 7, VS Code, Colab and marimo each render anywidgets with their own code;
VS Code and Colab cannot run here. What they all implement is the anywidget front-end module:
a module whose default export has ``render({model, el})``, with ``model.get``, ``set``,
``save_changes``, ``on`` and ``off`` on the synced traits. So the views must ask for nothing
more: no imports (a host may load the module from a blob: URL, with no network), no
ipywidgets-only API (the widget manager, layouts, child widgets), and synced traits of plain
JSON data. And every output must carry static fallbacks beside the widget, for hosts that
cannot show it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import traitlets
from sqlalchemy.orm import Session

import sessionkit
from sessionkit.jupyter.live import LiveView
from sessionkit.jupyter.replay import ReplayView
from sessionkit.jupyter.widget import PictureWidget, view_module
from tests.models import Author, Base

VIEW_JS = view_module()
STANDARD_MODEL_METHODS = {"get", "set", "save_changes", "on", "off", "send"}
PLAIN_TRAITS = (traitlets.Unicode, traitlets.Int, traitlets.Float, traitlets.Bool, traitlets.Dict, traitlets.List)
# What only Jupyter's ipywidgets manager (or one host) offers.
HOST_ONLY = ("widget_manager", "@jupyter-widgets", "window.Jupyter", "google.colab", "IPython", "requirejs", "define(")


@pytest.fixture
def tracker(session: Session) -> Iterator[sessionkit.Tracker]:
    with sessionkit.track(session, models=Base) as tracker:
        session.add(Author(name="Ann"))
        session.flush()
        yield tracker


# Read left to right, so that "//" inside a string is no comment and a quote inside a comment no string.
TOKENS = re.compile(
    r"""(?P<comment>//[^\n]*|/\*.*?\*/)|(?P<string>`(?:\\.|[^`\\])*`|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')""", re.DOTALL
)


def _code(source: str) -> str:
    """The module without its comments and with every string literal emptied."""
    return TOKENS.sub(lambda match: "" if match["comment"] else '""', source)


def test_the_module_default_exports_render_and_nothing_a_host_may_lack() -> None:
    code = _code(VIEW_JS)
    assert re.findall(r"export\s+default\s*\{([^}]*)\}", code) == [" render "]
    assert not re.search(r"^\s*import\b|\bimport\s*\(|\brequire\s*\(", code, flags=re.MULTILINE)
    for name in HOST_ONLY:
        assert name not in VIEW_JS, name


def test_the_module_uses_only_the_standard_model_methods() -> None:
    used = set(re.findall(r"\bmodel\.(\w+)", _code(VIEW_JS)))
    assert used, "the module reads no trait at all"
    assert used <= STANDARD_MODEL_METHODS, used - STANDARD_MODEL_METHODS


def test_the_module_reads_and_listens_to_synced_traits_only() -> None:
    synced = set(LiveView.class_own_traits(sync=True)) | set(ReplayView.class_own_traits(sync=True))
    synced |= set(PictureWidget.class_own_traits(sync=True))
    read = set(re.findall(r"model\.(?:get|set)\(\s*\"(\w+)\"", VIEW_JS))
    listened = set(re.findall(r"\"change:(\w+)\"", VIEW_JS))
    assert read, "no model.get found"
    assert read | listened <= synced, (read | listened) - synced


@pytest.mark.parametrize("view_class", [PictureWidget, LiveView, ReplayView])
def test_synced_traits_are_plain_json_data_and_hold_no_child_widgets(view_class: type) -> None:
    own = {
        name: trait
        for klass in view_class.__mro__
        if issubclass(klass, PictureWidget)
        for name, trait in klass.class_own_traits(sync=True).items()
    }
    assert "frame" in own
    for name, trait in own.items():
        assert isinstance(trait, PLAIN_TRAITS), f"{view_class.__name__}.{name} is a {type(trait).__name__}"


def test_every_view_carries_static_fallbacks_beside_the_widget(tracker: sessionkit.Tracker) -> None:
    for view in (tracker.view(), tracker.replay()):
        data, _ = view._repr_mimebundle_()
        assert set(data) == {"application/vnd.jupyter.widget-view+json", "text/html", "text/plain"}
        assert "<svg" in data["text/html"]
        assert "Author 1" in data["text/plain"]
        view.close()
    step = tracker.step()._repr_mimebundle_()
    assert {"image/svg+xml", "text/plain"} <= set(step)
