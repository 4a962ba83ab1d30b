"""import sessionkit and the core stay light: no pandas, IPython, ipywidgets or graphviz."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pandas", "IPython", "ipywidgets", "graphviz", "pygraphviz", "anywidget", "traitlets")


def test_importing_sessionkit_and_tracking_imports_nothing_heavy() -> None:
    code = (
        "import sys, sessionkit\n"
        "from sqlalchemy import create_engine\n"
        "from sqlalchemy.orm import Session\n"
        "s = Session(create_engine('sqlite://'))\n"
        "t = sessionkit.track(s)\n"
        "t.snapshot(); t.events; t.stop()\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_core_modules_import_no_jupyter_code() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import sessionkit.core\n"
        "names = [m.name for m in pkgutil.iter_modules(sessionkit.core.__path__, 'sessionkit.core.')]\n"
        "assert len(names) >= 8, names\n"
        "for name in names: importlib.import_module(name)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_tracking_needs_no_asyncio_extension() -> None:
    # SQLAlchemy's asyncio extension needs greenlet, which a plain install of SQLAlchemy 2.1 lacks.
    code = (
        "import sys, sessionkit\n"
        "from sqlalchemy.orm import sessionmaker\n"
        "sessionkit.track(sessionmaker()).stop()\n"
        "print('sqlalchemy.ext.asyncio' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
