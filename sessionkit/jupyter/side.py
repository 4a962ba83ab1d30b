"""The live view beside the notebook: a JupyterLab side panel (jupyter-widgets' ``sidecar``) that stays in sight.

How it is detected: the kernel cannot see which frontend draws its outputs, so it does not
guess. The view is displayed in a ``Sidecar`` and returned to be shown inline as well;
``static/widget.js`` decides in the page. The inline copy, when the same view has appeared in a
JupyterLab side panel, folds into one sentence that says where the view is; where no side
panel appears (classic frontends, Voila, VS Code, and Jupyter Notebook 7, where sidecar's panel
looks for JupyterLab's right sidebar, fails and shows nothing), it stays inline and says so.
Where no JavaScript runs at all (nbconvert, GitHub), the saved output is the inline view's
static picture, whose text says the same.
"""

from __future__ import annotations

import uuid
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sessionkit.jupyter.live import LiveView

__all__ = ["INLINE_NOTE", "open_beside"]

#: What the inline copy of a side view says where no side panel shows it.
INLINE_NOTE = "There is no side panel here, so the live view is shown inline."


def open_beside(view: LiveView) -> bool:
    """Display ``view`` in a JupyterLab side panel titled after its tracker; ``False`` if there is no way to.

    Without the ``sidecar`` package, or outside a Jupyter kernel, nothing is opened and a
    ``RuntimeWarning`` says so: the view is then shown inline only.
    """
    try:
        from IPython import get_ipython
        from IPython.display import display
        from sidecar import Sidecar
    except ImportError:
        warnings.warn(
            "sidecar is not installed, so the live view is shown inline (pip install sidecar for a side panel).",
            RuntimeWarning,
            stacklevel=3,
        )
        return False
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        warnings.warn("Not in a Jupyter kernel, so the live view is shown inline.", RuntimeWarning, stacklevel=3)
        return False
    view.side = uuid.uuid4().hex
    # Split beside the notebook rather than in the narrow right sidebar: the diagram needs the width.
    panel = Sidecar(title=f"sessionkit: {view.tracker.target.description}", anchor="split-right")
    with panel:
        display(view)  # type: ignore[no-untyped-call]
    view.panel = panel
    return True
