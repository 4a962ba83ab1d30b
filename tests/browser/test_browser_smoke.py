"""Smoke test: ipywidgets + graphviz_anywidget render in a real, offline browser.

Two paths are covered:

* JupyterLab (the primary path): cells are run one by one through
  JupyterLab's own commands, the graph is checked, a later cell changes the
  DOT from Python and the browser must show the change; finally "run all".
* Voila: the notebook is executed by Voila on page load; the DOT is then
  changed from Python in the page's kernel.

Every request to a host other than 127.0.0.1/localhost is aborted, so the
Graphviz WebAssembly must come from the widget bundle itself.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.browser

DOT_INITIAL = (
    'digraph { subgraph cluster_pending { label="pending"; a } subgraph cluster_persistent { label="persistent"; b } }'
)
# "a" got flushed: it moves to persistent; a new pending object "c" appears
DOT_UPDATED = (
    'digraph { subgraph cluster_pending { label="pending"; c } '
    'subgraph cluster_persistent { label="persistent"; a; b } }'
)

CELL_HTML = (
    "import ipywidgets as widgets\n"
    "from graphviz_anywidget import GraphvizAnyWidget\n"
    "widgets.HTML(\"<b class='sk-hello'>sessionkit: object states</b>\")"
)
CELL_GRAPH = f"graph = GraphvizAnyWidget(dot_source={DOT_INITIAL!r})\ngraph"
CELL_UPDATE = f"graph.dot_source = {DOT_UPDATED!r}"

# Everything Graphviz-related must be served locally (the wasm is inlined in
# graphviz_anywidget/static/widget.js); a blocked URL like this is a failure.
GRAPHVIZ_URL = re.compile(r"wasm|graphviz|hpcc|d3|anywidget|esm\.sh|unpkg", re.IGNORECASE)

# Reads the rendered SVG: clusters by their <title>, nodes by data-name
# (graphvizsvg moves node <title>s into data-name) with screen rectangles.
_GRAPH_STATE_JS = """
(svg) => {
  const rect = (el) => { const r = el.getBoundingClientRect();
                         return {x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; };
  const name = (g) => g.getAttribute('data-name') ||
                      (g.querySelector(':scope > title') || {}).textContent || '';
  const clusters = {}, nodes = {};
  svg.querySelectorAll('g.cluster').forEach(g => {
    const shape = g.querySelector('polygon, path');
    clusters[name(g)] = {label: (g.querySelector('text') || {}).textContent || '',
                         rect: rect(shape || g)};
  });
  svg.querySelectorAll('g.node').forEach(g => {
    nodes[name(g)] = {label: (g.querySelector('text') || {}).textContent || '',
                      rect: rect(g.querySelector('ellipse, polygon, path') || g)};
  });
  return {clusters, nodes, text: svg.textContent};
}
"""


def graph_svg(scope: Any) -> Any:
    """Locator of the Graphviz <svg> (the one with clusters) inside ``scope``."""
    return scope.locator("svg:has(g.cluster)")


def graph_state(scope: Any) -> dict:
    svg = graph_svg(scope)
    svg.wait_for(state="visible")
    return svg.evaluate(_GRAPH_STATE_JS)


def wait_for_graph(page: Any, scope_selector: str, node: str, cluster: str) -> None:
    """Wait until the graph in ``scope_selector`` shows ``node`` inside ``cluster``."""
    page.wait_for_function(
        """([scope, node, cluster]) => {
             for (const svg of document.querySelectorAll(scope + ' svg')) {
               const c = Array.from(svg.querySelectorAll('g.cluster')).find(g =>
                 (g.querySelector(':scope > title') || {}).textContent === cluster);
               const n = Array.from(svg.querySelectorAll('g.node')).find(g =>
                 (g.getAttribute('data-name') ||
                  (g.querySelector(':scope > title') || {}).textContent) === node);
               if (!c || !n) continue;
               const a = c.querySelector('polygon, path').getBoundingClientRect();
               const b = n.getBoundingClientRect();
               if (b.width > 0 && b.left >= a.left && b.right <= a.right &&
                   b.top >= a.top && b.bottom <= a.bottom) return true;
             }
             return false;
           }""",
        arg=[scope_selector, node, cluster],
    )


def inside(inner: dict, outer: dict) -> bool:
    return (
        inner["x0"] >= outer["x0"]
        and inner["x1"] <= outer["x1"]
        and inner["y0"] >= outer["y0"]
        and inner["y1"] <= outer["y1"]
    )


def assert_graph(state: dict, layout: dict[str, list[str]]) -> None:
    """``layout`` maps cluster name -> node names that must lie inside it."""
    assert "pending" in state["text"], state["text"]
    assert "persistent" in state["text"], state["text"]
    for cluster, members in layout.items():
        assert cluster in state["clusters"], (cluster, list(state["clusters"]))
        box = state["clusters"][cluster]["rect"]
        assert state["clusters"][cluster]["label"] == cluster.split("_", 1)[1]
        for node in members:
            assert node in state["nodes"], (node, list(state["nodes"]))
            assert state["nodes"][node]["label"] == node
            assert inside(state["nodes"][node]["rect"], box), (node, cluster, state)
        others = [n for n in state["nodes"] if n not in members]
        for node in others:
            assert not inside(state["nodes"][node]["rect"], box), (node, cluster, state)


def test_lab_graphviz_widget_live_update(jupyter_server, open_notebook, browser_page, browser_monitor):
    jupyter_server.write_notebook("smoke_lab.ipynb", [CELL_HTML, CELL_GRAPH, CELL_UPDATE])
    nb = open_notebook("smoke_lab.ipynb", mode="lab")

    # cells 0 and 1: HTML widget + graph
    nb.run_cell(0)
    nb.run_cell(1)
    assert nb.output(0).locator(".sk-hello").inner_text() == "sessionkit: object states"
    wait_for_graph(browser_page, ".jp-NotebookPanel", "a", "cluster_pending")
    state = graph_state(nb.output(1))
    assert_graph(state, {"cluster_pending": ["a"], "cluster_persistent": ["b"]})
    nb.screenshot("lab-1-initial")

    # cell 2 changes the DOT from Python after display
    nb.run_cell(2)
    wait_for_graph(browser_page, ".jp-NotebookPanel", "a", "cluster_persistent")
    state = graph_state(nb.output(1))
    assert_graph(state, {"cluster_pending": ["c"], "cluster_persistent": ["a", "b"]})
    nb.screenshot("lab-2-updated")

    # "Run all" re-creates the view; it must settle on the updated graph
    nb.run_all()
    wait_for_graph(browser_page, ".jp-NotebookPanel", "c", "cluster_pending")
    assert_graph(graph_state(nb.output(1)), {"cluster_pending": ["c"], "cluster_persistent": ["a", "b"]})
    nb.screenshot("lab-3-run-all")
    nb.screenshot("lab-3-graph-only", target=graph_svg(nb.output(1)))

    # offline: JupyterLab itself and the Graphviz wasm needed no outside host
    assert browser_monitor.blocked == [], browser_monitor.blocked
    assert browser_monitor.allowed > 0
    assert browser_monitor.page_errors == [], browser_monitor.page_errors


def test_voila_graphviz_widget_update_from_python(jupyter_server, open_notebook, browser_page, browser_monitor):
    jupyter_server.write_notebook("smoke_voila.ipynb", [CELL_HTML, CELL_GRAPH])
    nb = open_notebook("smoke_voila.ipynb", mode="voila")
    nb.run_all()  # Voila executed the cells while serving the page

    assert browser_page.locator(".sk-hello").inner_text() == "sessionkit: object states"
    wait_for_graph(browser_page, "#rendered_cells", "a", "cluster_pending")
    assert_graph(graph_state(nb.output(1)), {"cluster_pending": ["a"], "cluster_persistent": ["b"]})
    nb.screenshot("voila-1-initial")

    # change the DOT from Python in the page's own kernel
    nb.execute(CELL_UPDATE)
    wait_for_graph(browser_page, "#rendered_cells", "a", "cluster_persistent")
    assert_graph(graph_state(nb.output(1)), {"cluster_pending": ["c"], "cluster_persistent": ["a", "b"]})
    nb.screenshot("voila-2-updated")

    # Voila's page template asks CDNs for MathJax and Font Awesome (blocked,
    # harmless here); nothing Graphviz-related may have been requested remotely
    graphviz_remote = [u for u in browser_monitor.blocked if GRAPHVIZ_URL.search(u)]
    assert graphviz_remote == [], browser_monitor.blocked
    assert browser_monitor.page_errors == [], browser_monitor.page_errors
