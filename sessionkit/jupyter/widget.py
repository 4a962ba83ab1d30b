"""The anywidget both views are: a ``frame`` of plain data, drawn by the views' module (:func:`view_module`).

The JavaScript builds the view from the frame (see :class:`sessionkit.render.panels.Frame`)
with ``textContent`` only, cleans the SVG before showing it, and slides each token from its
old box to its new one. The Python side never sends HTML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets

from sessionkit.render.panels import Frame, Picture

STATIC = Path(__file__).parent / "static"
#: The files of the views' ES module, in the order they are joined (see the top of ``picture.js``).
MODULE_PARTS = ("picture.js", "player.js", "widget.js")


def view_module() -> str:
    """The views' ES module: ``static/picture.js``, ``player.js`` and ``widget.js`` joined into one.

    anywidget loads one module per widget, and a saved replay inlines the same text.
    """
    return "\n".join((STATIC / name).read_text(encoding="utf-8") for name in MODULE_PARTS)


class PictureWidget(anywidget.AnyWidget):
    """One anywidget that shows a :class:`~sessionkit.render.panels.Picture`: caption, diagram and panels.

    Saved notebooks keep a deterministic ``text/plain`` (the caption and the diagram in words)
    and a static ``text/html`` picture beside the widget view.
    """

    _esm = view_module()
    _css = STATIC / "view.css"
    #: The picture shown, as plain data (a :class:`~sessionkit.render.panels.Frame`).
    frame = traitlets.Dict().tag(sync=True)

    picture: Picture | None
    _closed = False

    @property
    def svg(self) -> str:
        """The diagram shown, as SVG text ("" when it could not be drawn)."""
        return "" if self.picture is None else self.picture.svg

    @property
    def widget(self) -> PictureWidget | None:
        """The widget itself while it is open (``None`` once closed): there is no other."""
        return None if self._closed else self

    @property
    def diagram_widget(self) -> PictureWidget:
        """The widget that shows the diagram: the view itself."""
        return self

    def _display(self, picture: Picture) -> None:
        """Show ``picture`` (the frame changes only if the picture did)."""
        self.picture = picture
        if not self._closed:
            frame: Frame = picture.frame()
            self.frame = dict(frame)

    def _say(self, note: str) -> None:
        """Show ``note`` above the picture, which stays as it was."""
        if not self._closed:
            self.frame = {**self.frame, "note": note}

    def _latest(self) -> Picture | None:
        """The picture to put in a mimebundle."""
        return self.picture

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        picture = self._latest()
        data: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        if not self._closed:
            found = super()._repr_mimebundle_(**kwargs)
            if found is not None:
                data, metadata = dict(found[0]), dict(found[1])
        data["text/plain"] = repr(self)
        if picture is not None:
            data["text/html"] = picture.html()
        return data, metadata

    def __repr__(self) -> str:
        picture = getattr(self, "picture", None)
        return picture.text if picture is not None else f"{type(self).__name__} (no picture)"

    def close(self) -> None:
        """Close the widget: it leaves the page; displayed again, it shows its last picture, static."""
        self._closed = True
        super().close()
        # ipywidgets hides a closed widget's _repr_mimebundle_; the static picture is still true.
        self.__dict__.pop("_repr_mimebundle_", None)
