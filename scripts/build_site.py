# ruff: noqa: INP001 - a script, not part of a package
"""Build the lessons into a static course site: one HTML page per notebook and an index.

Usage (from the repository root, in the environment that has sessionkit installed)::

    python scripts/build_site.py              # writes site/
    python scripts/build_site.py --out DIR

The notebooks are *not* executed: each page shows the outputs committed with the lesson (run
``scripts/execute_notebooks.py`` first to refresh them). Pages use nbconvert's JupyterLab
template with its CSS inlined, minus everything it would load from a CDN (require.js, MathJax,
Mermaid, the widget manager), so a built page asks for no URL and the site works offline, opened
from disk or from any static host. Step pictures are SVG in the saved outputs; a replay's saved
output carries its own player (scripts inline), which runs in the page. Links between lessons
(``02-adding-instances.ipynb``) point to their pages (``02-adding-instances.html``).
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TEMPLATE_DIR = Path(__file__).resolve().parent / "site_template"

INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 46em;
       margin: 2em auto; padding: 0 1em; line-height: 1.5; color: #222; }}
ul {{ list-style: none; padding-left: 0; }} li {{ margin: 0.4em 0; }} .file {{ color: #666; font-size: 0.85em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>The lessons in order, with the outputs saved in each notebook: step pictures and replays
work offline, no kernel needed. To run the cells yourself, open the notebooks in Jupyter.</p>
<ul class="sessionkit-lessons">
{items}
</ul>
</body>
</html>
"""


def lesson_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The first Markdown heading of the notebook, else ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#+\s+(.+?)\s*$", cell.source, re.MULTILINE)
            if match:
                return re.sub(r"[`*_]", "", match.group(1))
    return fallback


def link_pages(nb: nbformat.NotebookNode, names: set[str]) -> None:
    """Markdown links to another lesson's notebook point to its page instead."""

    def page(match: re.Match[str]) -> str:
        stem = match.group(1)
        return f"]({stem}.html{match.group(2)})" if stem in names else match.group(0)

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"\]\(([\w.-]+)\.ipynb(#[^)\s]*)?\)", page, cell.source)


def build(out: Path, notebooks: list[Path]) -> list[Path]:
    """Write one page per notebook and ``index.html`` into ``out`` (emptied first); the pages, in order."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    exporter = HTMLExporter(
        template_name="lab",
        extra_template_paths=[str(TEMPLATE_DIR)],
        template_file="lesson.html.j2",
        embed_images=True,
    )
    names = {path.stem for path in notebooks}
    pages, items = [], []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        title = lesson_title(nb, path.stem)
        link_pages(nb, names)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title, "path": str(path.parent)}})
        page = out / f"{path.stem}.html"
        page.write_text(body, encoding="utf-8")
        pages.append(page)
        items.append(
            f'<li><a href="{html.escape(page.name)}">{html.escape(title)}</a>'
            f' <span class="file">{html.escape(path.name)}</span></li>'
        )
    index = INDEX.format(title="sessionkit: the SQLAlchemy Session, lesson by lesson", items="\n".join(items))
    (out / "index.html").write_text(index, encoding="utf-8")
    return pages


def main(argv: list[str] | None = None) -> int:
    """Build the site; say where it went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "site", help="output folder (emptied first; default: site/)")
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to build (default: notebooks/*.ipynb)")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    pages = build(args.out, notebooks)
    sys.stdout.write(f"{len(pages)} lessons and index.html written to {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
