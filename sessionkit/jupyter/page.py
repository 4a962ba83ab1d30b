"""The replay as a page with no kernel behind it: every frame packed once, played by the widget's own module.

:func:`player_html` gives an HTML block (what a replay's ``text/html`` is, for nbconvert and
course sites) and :func:`player_page` a whole self-contained file (``ReplayView.save()``).
Both carry the views' module (:func:`~sessionkit.jupyter.widget.view_module`) and
``static/view.css`` inline and load no URL. Where scripts are stripped (GitHub's notebook
viewer), the block shows the last frame as a static picture and the list of steps in words.

Calm frames share their boxes and edges: :func:`pack` stores each distinct piece of SVG,
caption, log line and SQL group once, and each frame as the numbers of its pieces; the
player's ``unpackFrames`` puts them back together.

>>> svg = '<svg><g id="node1">x</g></svg>'
>>> data = pack([1, 2], [_frame("one", svg), _frame("two", svg)])
>>> data["frames"][0]["svg"] == data["frames"][1]["svg"], len(data["pool"])
(True, 6)
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Sequence
from typing import Any

from sessionkit.jupyter.widget import STATIC, view_module
from sessionkit.render.panels import Frame, Picture

__all__ = ["pack", "player_html", "player_page"]

#: Where an SVG is cut into pieces: before each cluster, node and edge Graphviz draws.
_PIECES = re.compile(r'(?=<g id="(?:clust|node|edge)\d+")')


class _Pool:
    """Distinct JSON values, each stored once and named by its number."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[str, int] = {}

    def __call__(self, value: Any) -> int:
        key = json.dumps(value, sort_keys=True, ensure_ascii=False)
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = len(self.values)
            self.values.append(value)
        return found


def pack(
    steps: Sequence[int], frames: Sequence[Frame], *, start: int | None = None, interval: int = 800
) -> dict[str, Any]:
    """The frames of a replay as compact data: each distinct piece once, each frame as the numbers of its pieces."""
    pool = _Pool()
    packed = []
    for frame in frames:
        objects = frame["objects"]
        sql = frame["sql"]
        packed.append(
            {
                "caption": pool(frame["caption"]),
                "current": frame["current"],
                "svg": [pool(piece) for piece in _PIECES.split(frame["svg"]) if piece],
                "summary": pool(frame["summary"]),
                "problem": pool(frame["problem"]),
                "dot": pool(frame["dot"]),
                "objects": {
                    "columns": pool(objects["columns"]),
                    "rows": [pool(row) for row in objects["rows"]],
                    "more": objects["more"],
                },
                "log": [pool(list(entry)) for entry in frame["log"]],
                "sql": None if sql is None else [pool(group) for group in sql],
                "note": pool(frame["note"]),
            }
        )
    first = steps[0] if steps else 0
    return {
        "steps": list(steps),
        "start": first if start is None else start,
        "interval": interval,
        "pool": pool.values,
        "frames": packed,
    }


def _frame(caption: str, svg: str) -> Frame:
    """A frame with nothing but a caption and a diagram (for examples)."""
    return {
        "caption": caption,
        "current": None,
        "svg": svg,
        "summary": "",
        "problem": "",
        "dot": "",
        "objects": {"columns": [], "rows": [], "more": 0},
        "log": [],
        "sql": None,
        "note": "",
    }


def _script_json(value: Any) -> str:
    """JSON that can sit inside a ``<script>`` element (no ``</`` and no HTML comment openers)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def player_html(data: dict[str, Any], last: Picture, steps: Sequence[tuple[int, str]]) -> str:
    """The replay as an HTML block: the player where scripts run, else the last frame and the steps in words.

    Deterministic: the block is named by a digest of its data, never by a random id.
    """
    payload = _script_json(data)
    key = hashlib.blake2b(payload.encode("utf-8"), digest_size=8).hexdigest()
    items = "".join(f'<li value="{seq}">{html.escape(text)}</li>' for seq, text in steps)
    fallback = (
        f"{last.html()}<details open><summary>The {len(steps)} steps of this replay</summary><ol>{items}</ol></details>"
    )
    module = view_module().replace("</script", "<\\/script")
    mount = (
        f"for (const el of document.querySelectorAll('[data-sessionkit-replay=\"{key}\"]')) {{\n"
        "  if (el.dataset.mounted) continue;\n"
        '  el.dataset.mounted = "yes";\n'
        "  const data = JSON.parse(el.querySelector('script[type=\"application/json\"]').textContent);\n"
        "  el.replaceChildren();\n"
        "  mountPlayer(el, framesSource({ ...data, frames: unpackFrames(data) }));\n"
        "}\n"
    )
    css = (STATIC / "view.css").read_text(encoding="utf-8")
    return (
        f"<style>{css}</style>"
        f'<div class="sessionkit-replay-page" data-sessionkit-replay="{key}">{fallback}'
        f'<script type="application/json">{payload}</script></div>'
        f'<script type="module">{module}\n{mount}</script>'
    )


def player_page(block: str, title: str) -> str:
    """A whole HTML document around a player block: one file that plays offline, loading no URL."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # Nothing may be fetched: the page is everything it needs.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">"
        f'<title>{html.escape(title)}</title></head>\n<body>\n<h1 style="font:600 1.1rem sans-serif">'
        f'{html.escape(title)}</h1>\n<p style="font:0.9rem sans-serif;color:#4b5563">Play, the slider, the step '
        "buttons, or click the replay and use the Left and Right arrows, Home and End.</p>\n"
        f"{block}\n</body></html>\n"
    )
