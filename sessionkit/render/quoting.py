"""Text made safe for DOT: one printable line, escaped for an HTML-like label or a quoted string.

Object labels, identities and collected names are the learner's own data: any text at all.
Graphviz's HTML-like labels (parsed by expat) and its quoted strings cannot carry every
character, so each is cleaned, cut short and escaped for the place it goes.

>>> html_text("<script> & co")
'&lt;script&gt; &amp; co'
"""

from __future__ import annotations

import hashlib
import html
import re

__all__ = ["LABEL_LIMIT", "TOOLTIP_LIMIT", "clean", "html_text", "quoted", "token_id"]

#: Longest object label or identity a token shows; longer text ends in an ellipsis.
LABEL_LIMIT = 40
#: Longest text a tooltip, a caption's last move or a one-line reason shows.
TOOLTIP_LIMIT = 120

# Characters Graphviz's HTML-like labels (parsed by expat) or quoted strings cannot carry, and line breaks.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_WHITESPACE_CONTROL = frozenset("\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_NOT_ID = re.compile(r"[^A-Za-z0-9]+")


def _replace_control(match: re.Match[str]) -> str:
    return " " if match.group() in _WHITESPACE_CONTROL else "\ufffd"


def clean(text: str, limit: int = LABEL_LIMIT) -> str:
    r"""One printable line of at most ``limit`` characters: controls become spaces or U+FFFD.

    >>> clean("a\nb")
    'a b'
    >>> clean("x" * 50, limit=10)
    'xxxxxxxxx…'
    """
    text = _CONTROL.sub(_replace_control, text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def html_text(text: str, limit: int = LABEL_LIMIT) -> str:
    """Text for a Graphviz HTML-like label: cleaned, truncated, ``& < >`` escaped."""
    return html.escape(clean(text, limit), quote=False)


def quoted(text: str, limit: int = TOOLTIP_LIMIT) -> str:
    """Text for a quoted DOT string (an escString): backslashes doubled, never read as HTML."""
    import graphviz

    escaped: str = graphviz.escape(clean(text, limit))  # a NoHtml str: quoted even when it looks like <...>
    return escaped


def token_id(label: str) -> str:
    """The DOT node id of an object's token: the same for a label in every picture, safe in DOT and SVG.

    >>> token_id("Author 1")
    'tok_Author_1_3bc7cab8'
    """
    readable = _NOT_ID.sub("_", label[:10]).strip("_")
    digest = hashlib.blake2b(label.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()
    return f"tok_{readable}_{digest}" if readable else f"tok_{digest}"
