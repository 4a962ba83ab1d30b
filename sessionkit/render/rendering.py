"""Rendering: DOT text to SVG, PNG, PDF... in-process, with the Graphviz library bundled in pygraphviz's wheel.

No ``dot`` program is needed, and nothing is printed: what Graphviz and its Fontconfig write
to stderr is captured at the file descriptor, and an error becomes one ``RenderError`` line.
``Renderable`` gives a picture ``svg()``, ``save()`` and its Jupyter mimebundle.

>>> render("digraph { a -> b }")[:5]
b'<?xml'
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

from sessionkit.core.exceptions import InvalidSettingError, SessionkitError
from sessionkit.render.quoting import TOOLTIP_LIMIT, clean

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Sequence

__all__ = ["SAVE_FORMATS", "RenderError", "Renderable", "node_sizes", "render"]

#: File suffixes ``StateDiagram.save()`` accepts: what the bundled Graphviz renders, and DOT text.
SAVE_FORMATS = ("svg", "svgz", "png", "pdf", "jpg", "jpeg", "gif", "ps", "eps", "json", "xdot", "dot", "gv")

_RENDER_LOCK = threading.Lock()
#: The widest a diagram is displayed in a notebook, in points (about 880 pixels): a page's width.
DISPLAY_WIDTH_PT = 660.0
_SVG_SIZE = re.compile(r'<svg width="(?P<width>[0-9.]+)pt" height="(?P<height>[0-9.]+)pt"')
#: How the lines Graphviz and its Fontconfig print on stderr begin.
_RENDERER_NOISE = ("Fontconfig", "Error:", "Warning:")


class RenderError(SessionkitError, RuntimeError):
    """Graphviz could not render a diagram (the DOT text is still there: ``StateDiagram.source``)."""


class Renderable(ABC):
    """``svg()``, ``save()`` and the Jupyter display of a picture that has DOT ``source`` and a ``summary()``.

    In Jupyter it shows as SVG with the summary as its text; if Graphviz cannot render it, the
    text is the reason and the DOT source.
    """

    _svg: tuple[str, str] | None = None  # the source last rendered, and its SVG

    @property
    @abstractmethod
    def source(self) -> str:
        """The DOT text of the picture."""

    @abstractmethod
    def summary(self) -> str:
        """The picture in words: what a front end that shows no SVG shows."""

    def svg(self) -> str:
        """The picture as SVG text, rendered in-process by pygraphviz (raises ``RenderError``)."""
        source = self.source
        if self._svg is None or self._svg[0] != source:
            self._svg = (source, render(source, "svg").decode("utf-8"))
        return self._svg[1]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the picture to ``path`` in the format its suffix names (``.svg``, ``.png``, ``.pdf``...).

        ``.dot`` and ``.gv`` write the DOT text itself. Returns the path written.
        """
        target = Path(path)
        suffix = target.suffix.lower().lstrip(".")
        if suffix not in SAVE_FORMATS:
            accepted = ", ".join(f".{name}" for name in SAVE_FORMATS)
            msg = f"cannot save a state diagram as {str(path)!r}: give a file name ending in one of {accepted}."
            raise InvalidSettingError(msg)
        if suffix in ("dot", "gv"):
            data = self.source.encode("utf-8")
        elif suffix == "svg":
            data = self.svg().encode("utf-8")
        else:
            data = render(self.source, suffix)
        target.write_bytes(data)
        return target

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, str]:
        def wanted(mime: str) -> bool:
            return (not include or mime in include) and (not exclude or mime not in exclude)

        bundle: dict[str, str] = {}
        text = self.summary()
        if wanted("image/svg+xml"):
            try:
                bundle["image/svg+xml"] = fit_width(self.svg())
            except RenderError as error:
                text = f"{error}\n{self.source}"
        if wanted("text/plain"):
            bundle["text/plain"] = text
        return bundle


def fit_width(svg: str, limit: float = DISPLAY_WIDTH_PT) -> str:
    """The SVG as displayed in a notebook: at most ``limit`` points wide, shrunk evenly if wider.

    Graphviz sizes the root ``<svg>`` in points, and nbconvert's HTML shows an SVG output as an
    image of that size: a picture wider than the page is cut off at the right. The ``viewBox``
    keeps the drawing whole; only its displayed size changes, and ``max-width: 100%`` lets it
    shrink further where it is drawn inline in a narrower column.

    >>> fit_width('<svg width="900pt" height="200pt" viewBox="0 0 900 200">', limit=600)
    '<svg style="max-width:100%;height:auto" width="600pt" height="133pt" viewBox="0 0 900 200">'
    """
    size = _SVG_SIZE.search(svg)
    if size is not None and float(size["width"]) > limit:
        scale = limit / float(size["width"])
        resized = f'<svg width="{limit:.0f}pt" height="{float(size["height"]) * scale:.0f}pt"'
        svg = svg[: size.start()] + resized + svg[size.end() :]
    return svg.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)


@contextlib.contextmanager
def _captured_stderr() -> Iterator[list[str]]:
    """Send file descriptor 2, where Graphviz and Fontconfig write, to a buffer; yield its lines.

    The lines appear in the yielded list when the block ends. ``sys.stderr`` is left alone, and
    holding ``_RENDER_LOCK`` serializes renders (Graphviz is not thread-safe itself). What other
    threads write to descriptor 2 meanwhile lands in the buffer too: ``_pass_on`` gives it back.
    """
    lines: list[str] = []
    with _RENDER_LOCK, tempfile.TemporaryFile() as sink:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:  # no file descriptor 2 at all: nothing can reach it
            yield lines
            return
        try:
            os.dup2(sink.fileno(), 2)
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode("utf-8", "replace").splitlines())


def _pass_on(lines: list[str]) -> None:
    """Write back to stderr the captured lines that are not Graphviz's or Fontconfig's own."""
    others = [line for line in lines if not line.startswith(_RENDERER_NOISE)]
    if others:
        with contextlib.suppress(OSError):
            os.write(2, "".join(f"{line}\n" for line in others).encode("utf-8", "replace"))


def render(source: str, fmt: str = "svg") -> bytes:
    """Render DOT text in-process with pygraphviz's bundled Graphviz, printing nothing.

    Raises ``RenderError`` (one line saying why) if pygraphviz is missing or Graphviz reports an error.
    """
    try:
        import pygraphviz
    except ImportError as error:
        msg = "Could not render the state diagram: pygraphviz is not installed (pip install pygraphviz)."
        raise RenderError(msg) from error
    data = b""
    failure: Exception | None = None
    with _captured_stderr() as messages:
        try:
            data = pygraphviz.AGraph(string=source).draw(format=fmt, prog="dot")
        except Exception as error:  # noqa: BLE001 - every Graphviz failure becomes one RenderError line
            failure = error
    errors = [line.strip() for line in messages if line.lstrip().lower().startswith("error")]
    if failure is None and data and not errors:
        _pass_on(messages)
        return bytes(data)
    reason = errors[0] if errors else f"{type(failure).__name__}: {failure}" if failure else "no output"
    msg = f"Could not render the state diagram as {fmt}: {clean(reason, TOOLTIP_LIMIT)}"
    raise RenderError(msg) from failure


def node_sizes(labels: Sequence[str], node: str) -> list[tuple[float, float]]:
    """The natural ``(width, height)`` in points of a node with each HTML-like label, as Graphviz lays it out.

    ``node`` is the DOT node attribute list they share (shape, fonts, margins). Raises
    ``RenderError`` if pygraphviz is missing or Graphviz fails.
    """
    try:
        import pygraphviz
    except ImportError as error:
        msg = "Could not measure the state diagram's tokens: pygraphviz is not installed (pip install pygraphviz)."
        raise RenderError(msg) from error
    body = "".join(f"n{index} [label=<{label}>];\n" for index, label in enumerate(labels))
    graph = pygraphviz.AGraph(string=f"digraph {{ node [{node}];\n{body}}}")
    with _captured_stderr() as messages:
        try:
            graph.layout(prog="dot")
        except Exception as error:
            msg = f"Could not measure the state diagram's tokens: {clean(str(error), TOOLTIP_LIMIT)}"
            raise RenderError(msg) from error
    _pass_on(messages)
    sizes = []
    for index in range(len(labels)):
        attrs = graph.get_node(f"n{index}").attr
        sizes.append((float(attrs["width"]) * 72, float(attrs["height"]) * 72))
    return sizes
