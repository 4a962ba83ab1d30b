# ruff: noqa: INP001 - a script, not part of a package
"""Re-execute the teaching notebooks in place, so their committed outputs are fresh.

Usage (from the repository root, in the environment that has sessionkit installed)::

    python scripts/execute_notebooks.py                    # every notebooks/*.ipynb, in place
    python scripts/execute_notebooks.py notebooks/08-exercises.ipynb
    python scripts/execute_notebooks.py --check            # run them all, write nothing

Each notebook runs top to bottom in a fresh kernel of *this* interpreter, in the notebooks
folder, exactly as nbval runs it. Re-running unchanged notebooks changes no byte: no execution
timings are written, a cell whose new outputs differ from the committed ones only where
``tests/notebooks/nbval-sanitize.cfg`` masks them (memory addresses, ...) keeps the committed ones,
and no widget views are written. A widget view is only a
pointer (a random model id) to a model that lives in the kernel, so a saved one shows as
"model not found"; every sessionkit display carries a static text/html picture beside it,
and that is what GitHub, nbviewer and a freshly opened JupyterLab show until the cell runs
again. Outputs are always those of the default database (a temporary SQLite file): with ``SESSIONKIT_DATABASE_URL`` set,
only ``--check`` is allowed.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbclient.output_widget import OutputWidget

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SANITIZE = ROOT / "tests" / "notebooks" / "nbval-sanitize.cfg"
CURRENT_ENV = "sessionkit-current-env"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SIDECAR_MODULE = "@jupyter-widgets/jupyterlab-sidecar"


class _CurrentEnvSpecs(KernelSpecManager):
    """Kernel specs where ``sessionkit-current-env`` is an IPython kernel of this very interpreter."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name != CURRENT_ENV:
            return super().get_kernel_spec(kernel_name)
        import ipykernel.kernelspec

        return KernelSpec(resource_dir=ipykernel.kernelspec.RESOURCES, **ipykernel.kernelspec.get_kernel_dict())


def nbval_ignores(cell: nbformat.NotebookNode) -> bool:
    """Whether nbval leaves this cell's output uncompared (its tag or its comment says so)."""
    return "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []) or "NBVAL_IGNORE_OUTPUT" in cell.source


class _SidePanel(OutputWidget):
    """A JupyterLab side panel as nbclient sees it: what is displayed in it lives in the panel, never in the cell."""

    def output(self, outs: list[Any], msg: dict[str, Any], display_id: str | None, cell_index: int) -> None:
        """Keep the panel's copy out of the notebook (a panel is not saved with it)."""

    def clear_output(self, outs: list[Any], msg: dict[str, Any], cell_index: int) -> None:
        """Nothing to clear: the panel keeps nothing."""


class _NbvalClient(NotebookClient):
    """nbclient, except that a display update reaches only outputs nbval does not compare.

    A live view updates its saved picture as each cell ends (``update_display_data``).
    JupyterLab and nbconvert apply that to the earlier output; nbval ignores it and compares
    the output as first displayed. So a compared output is written as nbval will see it, and
    an ignored one (``nbval-ignore-output``) as a reader of the saved notebook should: the
    session when the notebook stopped.

    A side panel (``sidecar``, which ``%sessionkit view --side`` opens) is an Output widget
    under another name: what is displayed in it goes to the panel, as JupyterLab does, and
    not into the cell. Otherwise the saved cell would hold the view twice.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.widget_registry[SIDECAR_MODULE] = {"SidecarModel": _SidePanel}

    def _update_display_id(self, display_id: str, msg: dict[str, Any]) -> None:
        targets = self._display_id_map.get(display_id, {})
        compared = {index: outputs for index, outputs in targets.items() if not nbval_ignores(self.nb.cells[index])}
        for index in compared:
            del targets[index]
        try:
            super()._update_display_id(display_id, msg)
        finally:
            targets.update(compared)


def execute(path: Path, *, timeout: int = 120) -> nbformat.NotebookNode:
    """Run one notebook top to bottom in a fresh kernel; raises ``CellExecutionError`` on the first error."""
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    manager = KernelManager(kernel_name=CURRENT_ENV, kernel_spec_manager=_CurrentEnvSpecs())
    client = _NbvalClient(
        nb,
        km=manager,
        timeout=timeout,
        record_timing=False,
        store_widget_state=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    finally:
        if manager.has_kernel:  # a graceful shutdown lets the kernel remove its temporary database
            manager.shutdown_kernel(now=False)
    return without_widget_views(nb)


def without_widget_views(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook without widget views, widget state or execution timings (nothing random is kept).

    Adjacent outputs of one stream are joined: how the kernel happened to chunk them is not content.
    """
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # timings an earlier tool may have left
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            output.get("data", {}).pop(WIDGET_VIEW, None)
        cell.outputs = _joined_streams(cell.outputs)
    return nb


def _joined_streams(outputs: list[Any]) -> list[Any]:
    joined: list[Any] = []
    for output in outputs:
        last = joined[-1] if joined else None
        if (
            output.output_type == "stream"
            and last is not None
            and last.output_type == "stream"
            and last.name == output.name
        ):
            last.text += output.text
        else:
            joined.append(output)
    return joined


def _as_nbval_compares(outputs: list[Any]) -> list[Any]:
    """Outputs as nbval compares them: every output of one stream joined into its first."""
    merged: list[Any] = []
    streams: dict[str, dict[str, Any]] = {}
    for output in outputs:
        if output.get("output_type") == "stream":
            if output["name"] in streams:
                streams[output["name"]]["text"] += output["text"]
                continue
            output = streams[output["name"]] = {**output}  # noqa: PLW2901 - a copy to join into
        merged.append(output)
    return merged


def sanitize_patterns(path: Path = SANITIZE) -> list[tuple[re.Pattern[str], str]]:
    """The (regex, replacement) pairs of an nbval sanitize file, read the way nbval reads them."""
    if not path.is_file():
        return []
    pairs = re.findall(r"^regex: (.*)$\n^replace: (.*)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return [(re.compile(regex), replace) for regex, replace in pairs]


def _sanitized(value: Any, patterns: list[tuple[re.Pattern[str], str]]) -> Any:
    if isinstance(value, str):
        for regex, replace in patterns:
            value = regex.sub(replace, value)
        return value
    if isinstance(value, dict):
        return {key: _sanitized(item, patterns) for key, item in value.items()}
    if isinstance(value, list):
        return [_sanitized(item, patterns) for item in value]
    return value


def keep_committed(old: nbformat.NotebookNode, new: nbformat.NotebookNode) -> None:
    """Keep each cell's committed outputs where the new ones differ only in what the sanitize file masks."""
    patterns = sanitize_patterns()
    before = {cell.get("id"): cell for cell in old.cells if cell.cell_type == "code"}
    for cell in new.cells:
        was = before.get(cell.get("id"))
        if cell.cell_type != "code" or was is None or was.source != cell.source or not was.outputs:
            continue
        old, new = (_sanitized(_as_nbval_compares(o), patterns) for o in (was.outputs, cell.outputs))
        if old == new:
            cell.outputs = was.outputs


def notebook_paths(names: list[str]) -> list[Path]:
    """The notebooks named, or every ``notebooks/*.ipynb`` in order."""
    if not names:
        return sorted(NOTEBOOKS.glob("*.ipynb"))
    paths = [Path(name).resolve() for name in names]
    missing = [str(p) for p in paths if not p.is_file() or p.suffix != ".ipynb"]
    if missing:
        msg = f"not a notebook file: {', '.join(missing)}"
        raise SystemExit(msg)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Execute the notebooks; write them back unless ``--check``. Returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to run (default: notebooks/*.ipynb)")
    parser.add_argument("--check", action="store_true", help="run them but write nothing (fails on any error)")
    parser.add_argument("--timeout", type=int, default=120, help="seconds a cell may take (default 120)")
    args = parser.parse_args(argv)
    if os.environ.get("SESSIONKIT_DATABASE_URL", "").strip() and not args.check:
        sys.stderr.write(
            "SESSIONKIT_DATABASE_URL is set: the committed outputs are those of the default temporary SQLite file. "
            "Unset it to rewrite the notebooks, or pass --check to only run them.\n"
        )
        return 2
    failed = 0
    for path in notebook_paths(args.notebooks):
        started = time.perf_counter()
        try:
            nb = execute(path, timeout=args.timeout)
        except CellExecutionError as error:
            failed += 1
            sys.stderr.write(f"FAILED {path.name}:\n{error}\n")
            continue
        seconds = time.perf_counter() - started
        if args.check:
            sys.stdout.write(f"ran     {path.name} ({seconds:.1f} s)\n")
            continue
        before = path.read_text(encoding="utf-8")
        keep_committed(nbformat.reads(before, as_version=4), nb)  # type: ignore[no-untyped-call]
        after = nbformat.writes(nb) + "\n"  # type: ignore[no-untyped-call]
        if after != before:
            path.write_text(after, encoding="utf-8")
        verb = "wrote  " if after != before else "same   "
        sys.stdout.write(f"{verb} {path.name} ({seconds:.1f} s)\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
