"""Real-browser test fixtures for Jupyter widgets (JupyterLab and Voila).

Layers (each usable on its own):

* ``jupyter_server`` (session): one ``jupyter lab`` process on 127.0.0.1, random
  free port, random token, temp root dir, isolated config/data/runtime/settings
  dirs.  Voila is a *server extension*, so when ``voila`` is installed the same
  process also serves ``/voila/render/<nb>``.  Teardown: ``POST /api/shutdown``
  (stops every kernel), then SIGTERM/SIGKILL to the process group, then SIGKILL
  to any leftover process the server started (kernels run in their own
  sessions, so killing the process group alone would orphan them).
* ``chromium_browser`` (session): Playwright driving Debian's /usr/bin/chromium.
  Missing chromium/playwright -> skip, or FAIL (setup error) when ``CI`` is set.
* ``browser_monitor`` / ``browser_context`` / ``browser_page`` (per test): a
  fresh context whose ``context.route("**/*")`` aborts every request whose host
  is not 127.0.0.1/localhost and counts them; console messages and uncaught
  page errors are recorded.  On test failure a screenshot, the console log and
  the server-log tail are written to ``test-artifacts/browser/``.
* ``open_notebook`` (per test): ``open_notebook("x.ipynb", mode="lab"|"voila")``
  returns an opened ``LabNotebook``/``VoilaNotebook`` with ``run_all()``,
  ``run_all_from_menu()`` and ``run_cell(i)`` (Lab), ``execute(code)`` (runs code
  in the page's kernel from Python and returns what it printed),
  ``wait_for_widgets()``, ``output(i)`` and ``screenshot(name)``.
  Kernels it started are shut down after the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import pytest

# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = Path(os.environ.get("SESSIONKIT_ARTIFACTS_DIR", REPO_ROOT / "test-artifacts")) / "browser"
CHROMIUM_PATH = os.environ.get("SESSIONKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # containers run us as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Defence in depth next to context.route(): traffic Playwright routing does
    # not see (WebSockets, some worker requests) cannot resolve any other host.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
# NB: Playwright's launch() always uses a fresh temporary --user-data-dir (and
# deletes it); passing one in ``args`` is rejected by launch().
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
DEFAULT_TIMEOUT_MS = int(os.environ.get("SESSIONKIT_BROWSER_TIMEOUT_MS", "30000"))
SERVER_START_TIMEOUT_S = 60.0
VIEWPORT = {"width": 1280, "height": 900}
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"

# JupyterLab user settings written into an isolated JUPYTERLAB_SETTINGS_DIR.
LAB_USER_SETTINGS: dict[str, dict[str, Any]] = {
    # no "Would you like to get notified about official Jupyter news?" toast
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    # keep every cell in the DOM (windowing may detach off-screen cells)
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # never write the notebook back, never a "file changed on disk" dialog
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes", "on"}


def skip_or_fail(reason: str) -> None:
    """Skip locally; in CI (``CI=true``) a missing prerequisite is a failure."""
    if in_ci():
        pytest.fail(f"{reason} [CI is set: browser tests must not be skipped]", pytrace=False)
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: real-browser (Playwright + Chromium) test")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)  # read by fixtures to save diagnostics on failure
    return rep


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120]


def save_screenshot(target: Any, name: str, **kwargs: Any) -> Path:
    """Screenshot a Page or Locator into test-artifacts/browser/<name>.png."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS_DIR / f"{_slug(name)}.png"
    target.screenshot(path=str(path), **kwargs)
    return path


# --------------------------------------------------------------------------
# Jupyter server
# --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _proc_start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22: starttime


def _descendants(root_pid: int) -> list[tuple[int, str]]:
    """(pid, starttime) of every live descendant of ``root_pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[tuple[int, str]] = []
    stack = [root_pid]
    while stack:
        for child in children.get(stack.pop(), []):
            start = _proc_start_time(child)
            if start is not None:
                found.append((child, start))
                stack.append(child)
    return found


@dataclass
class JupyterServer:
    process: subprocess.Popen[bytes]
    port: int
    token: str = field(repr=False)
    root_dir: Path
    runtime_dir: Path
    log_path: Path
    voila_available: bool

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, **query: str) -> str:
        """Browser URL for ``path``; the token in the URL logs the browser in."""
        params = [f"{k}={quote(v)}" if v else k for k, v in query.items()]
        params.append(f"token={self.token}")
        return f"{self.base_url}/{path.lstrip('/')}?{'&'.join(params)}"

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
        """Call the REST API with the token header (token auth skips the XSRF check)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
            f"{self.base_url}/api/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            raw = resp.read()
        return json.loads(raw) if raw else None

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        """Write a notebook of code cells into the server root (python3 kernel)."""
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
        path = self.root_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        return path

    def kernel_client(self, kernel_id: str) -> Any:
        """A started ``jupyter_client.BlockingKernelClient`` on one of the server's kernels.

        The kernel broadcasts IOPub (incl. widget comm updates) to every
        frontend, so code run through this client updates widgets in the page.
        """
        from jupyter_client.blocking.client import BlockingKernelClient

        client = BlockingKernelClient(connection_file=str(self.runtime_dir / f"kernel-{kernel_id}.json"))
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=30)
        return client

    def shutdown_kernel(self, kernel_id: str) -> None:
        with contextlib.suppress(urllib.error.URLError, OSError):
            self.api("DELETE", f"kernels/{kernel_id}")

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "<no server log>"


def _server_env(base: Path, python: str = sys.executable) -> dict[str, str]:
    env = dict(os.environ)
    dirs = {
        "JUPYTER_CONFIG_DIR": base / "config",  # ignore ~/.jupyter
        "JUPYTER_DATA_DIR": base / "data",
        "JUPYTER_RUNTIME_DIR": base / "runtime",  # kernel-<id>.json land here
        "JUPYTERLAB_SETTINGS_DIR": base / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": base / "lab-workspaces",
        "IPYTHONDIR": base / "ipython",
    }
    for key, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[key] = str(path)
    for plugin, values in LAB_USER_SETTINGS.items():
        settings_file = dirs["JUPYTERLAB_SETTINGS_DIR"] / f"{plugin}.jupyterlab-settings"
        settings_file.parent.mkdir(parents=True, exist_ok=True)
        settings_file.write_text(json.dumps(values))
    # kernels must use the server's interpreter (jupyter_client maps argv "python" to
    # its sys.executable); keep its bin dir first on PATH for anything else
    env["PATH"] = f"{Path(python).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("JUPYTER_TOKEN", None)
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # quiet debugpy warning in kernels
    return env


def _server_cmd(port: int, token: str, root: Path, python: str, app: str = "jupyterlab") -> list[str]:
    """``app`` is the module run: ``jupyterlab``, or ``notebook`` for Jupyter Notebook 7."""
    cmd = [
        python,
        "-m",
        app,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",  # fail instead of silently using another port
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        "--ServerApp.shutdown_no_activity_timeout=1800",  # safety net if teardown never runs
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, as JupyterLab's own galata uses
        "--JupyterNotebookApp.expose_app_in_browser=True",  # the same in Notebook 7 (ignored by Lab)
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--VoilaConfiguration.show_tracebacks=True",  # ignored without voila
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # jupyter refuses to start as root otherwise
    return cmd


def _answers(server: JupyterServer) -> bool:
    try:
        server.api("GET", "status", timeout=2)
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return True


def _wait_until_up(server: JupyterServer) -> bool:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline and server.process.poll() is None:
        if _answers(server):
            return True
        time.sleep(0.2)
    return False


def _start_server(
    base: Path, env: dict[str, str], root: Path, python: str = sys.executable, app: str = "jupyterlab"
) -> JupyterServer:
    """``jupyter lab`` (or ``app``) run by ``python`` (this interpreter, or another environment's)."""
    import importlib.util

    voila_available = python == sys.executable and importlib.util.find_spec("voila") is not None
    last_error = ""
    for attempt in range(3):  # retry only if the free port was grabbed meanwhile
        port, token = _free_port(), secrets.token_hex(24)
        log_path = base / f"server-{attempt}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                _server_cmd(port, token, root, python, app),
                cwd=root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # own process group, killed as a whole
            )
        server = JupyterServer(proc, port, token, root, Path(env["JUPYTER_RUNTIME_DIR"]), log_path, voila_available)
        if _wait_until_up(server):
            return server
        last_error = server.log_tail()
        _stop_server(server)
        if "already in use" not in last_error:
            break
    msg = f"Jupyter server did not start:\n{last_error}"
    raise RuntimeError(msg)


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)


def _stop_server(server: JupyterServer) -> None:
    proc = server.process
    spawned = _descendants(proc.pid)  # kernels: own sessions, not in our group
    if proc.poll() is None:
        # graceful: the server shuts down every kernel (Lab and Voila) first
        with contextlib.suppress(urllib.error.URLError, OSError, ValueError):
            server.api("POST", "shutdown", timeout=5)
        _wait(proc, 10)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        _wait(proc, 5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers left in the group we created
    for pid, start in spawned:  # only the very processes the server started
        if _proc_start_time(pid) == start:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A running ``jupyter lab`` (serving Voila too, if installed) for the whole session."""
    base = tmp_path_factory.mktemp("jupyter")
    root = base / "root"
    root.mkdir()
    server = _start_server(base, _server_env(base), root)
    try:
        yield server
    finally:
        _stop_server(server)


# --------------------------------------------------------------------------
# Browser
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    if not (Path(CHROMIUM_PATH).is_file() and os.access(CHROMIUM_PATH, os.X_OK)):
        skip_or_fail(f"Chromium not found at {CHROMIUM_PATH} (install it with: apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("python package 'playwright' is not installed")
    return CHROMIUM_PATH


@pytest.fixture(autouse=True)
def _require_chromium(chromium_executable: str) -> None:
    """Skip / CI-fail before any expensive fixture (such as the server) starts."""


@pytest.fixture(scope="session")
def chromium_browser(chromium_executable: str) -> Iterator[Any]:
    """Playwright Chromium from the system binary (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True)
    except Exception:
        pw.stop()
        raise
    try:
        yield browser
    finally:
        try:
            browser.close()
        finally:
            pw.stop()


@dataclass
class BrowserMonitor:
    """Network guard and page diagnostics for one browser context."""

    blocked: list[str] = field(default_factory=list)
    allowed: int = 0
    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    @property
    def blocked_count(self) -> int:
        return len(self.blocked)

    @property
    def console_errors(self) -> list[str]:
        return [m for m in self.console if m.startswith("[error]")]

    def handle_route(self, route: Any) -> None:
        url = route.request.url
        parsed = urlparse(url)
        on_disk = parsed.scheme == "file" and not parsed.hostname  # a page saved on this machine (file:///...)
        if parsed.scheme in {"data", "blob", "about"} or on_disk or parsed.hostname in LOCAL_HOSTS:
            self.allowed += 1
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")

    def attach(self, page: Any) -> None:
        page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))

    def report(self) -> str:
        return "\n".join(
            [
                "blocked requests:",
                *self.blocked,
                "",
                "page errors:",
                *self.page_errors,
                "",
                "console:",
                *self.console,
            ]
        )


@pytest.fixture
def browser_monitor() -> BrowserMonitor:
    return BrowserMonitor()


@pytest.fixture
def browser_context(chromium_browser: Any, browser_monitor: BrowserMonitor) -> Iterator[Any]:
    context = chromium_browser.new_context(viewport=VIEWPORT, service_workers="block")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.route("**/*", browser_monitor.handle_route)
    try:
        yield context
    finally:
        context.close()


def _failed(request: pytest.FixtureRequest) -> bool:
    rep = getattr(request.node, "rep_call", None)
    return bool(rep is not None and rep.failed)


@pytest.fixture
def browser_page(
    browser_context: Any, browser_monitor: BrowserMonitor, request: pytest.FixtureRequest
) -> Iterator[Any]:
    page = browser_context.new_page()
    browser_monitor.attach(page)
    yield page
    if _failed(request):
        name = f"FAILED-{request.node.name}"
        with contextlib.suppress(Exception):  # diagnostics must not mask the failure
            save_screenshot(page, name, full_page=True)
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS_DIR / f"{_slug(name)}.log").write_text(browser_monitor.report())
    page.close()


# --------------------------------------------------------------------------
# Notebook helpers
# --------------------------------------------------------------------------


class NotebookCellError(AssertionError):
    """A cell (or code run in the page's kernel) raised, or did not run."""


_FIND_PANEL_JS = """
const findPanel = (path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
  }
  return null;
};
"""

_LAB_READY_JS = (
    _FIND_PANEL_JS
    + """
(path) => {
  const dialog = document.querySelector('.jp-Dialog');
  if (dialog) return 'dialog: ' + dialog.innerText.replace(/\\s+/g, ' ').slice(0, 300);
  const panel = findPanel(path);
  if (!panel || !panel.context.isReady) return false;
  const session = panel.sessionContext.session;
  const kernel = session && session.kernel;
  if (!kernel || kernel.connectionStatus !== 'connected' || kernel.status !== 'idle') return false;
  return 'ok:' + kernel.id;
}
"""
)

# execution counts, error outputs and widget-view outputs, read from the
# notebook *model* (not the DOM)
_LAB_CELLS_JS = """
const cellStates = (nb) => nb.widgets.map((cell, i) => {
  const m = cell.model;
  const outputs = m.type === 'code' ? m.outputs.toJSON() : [];
  return {
    index: i, type: m.type, executionCount: m.type === 'code' ? m.executionCount : null,
    errors: outputs.filter(o => o.output_type === 'error')
                   .map(o => ({ename: o.ename, evalue: o.evalue, traceback: o.traceback})),
    widgetOutputs: outputs.map((o, j) => (o.data && o.data[__MIME__]) ? j : -1).filter(j => j >= 0),
  };
});
""".replace("__MIME__", json.dumps(WIDGET_VIEW_MIME))

_LAB_STATE_JS = _FIND_PANEL_JS + _LAB_CELLS_JS + "(path) => ({ok: true, cells: cellStates(findPanel(path).content)})"

# run a notebook command on our panel, bounded by a timeout
_LAB_RUN_JS = (
    _FIND_PANEL_JS
    + _LAB_CELLS_JS
    + """
async ({path, command, cellIndex, timeoutMs}) => {
  const app = window.jupyterapp;
  const panel = findPanel(path);
  app.shell.activateById(panel.id);
  const nb = panel.content;
  if (cellIndex !== null) {
    nb.activeCellIndex = cellIndex;
    nb.deselectAll();
  }
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(command + ' timed out')), timeoutMs);
  });
  let ok;
  try {
    ok = await Promise.race([app.commands.execute(command), timeout]);
  } finally {
    clearTimeout(timer);
  }
  return {ok, cells: cellStates(nb)};
}
"""
)

# a run started from the page (a menu, a button) is over: a cell failed, or every code cell has
# run and the kernel is idle
_LAB_RUN_OVER_JS = (
    _FIND_PANEL_JS
    + _LAB_CELLS_JS
    + """
(path) => {
  const panel = findPanel(path);
  const cells = cellStates(panel.content);
  if (cells.some(c => c.errors.length)) return true;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return Boolean(kernel) && kernel.status === 'idle'
    && cells.every(c => c.type !== 'code' || c.executionCount !== null);
}
"""
)

# every listed widget view has real, error-free, visible content
_WIDGETS_RENDERED_JS = """
([cellSelector, outputs]) => {
  const cells = document.querySelectorAll(cellSelector);
  return outputs.every(({cell, output}) => {
    const c = cells[cell];
    if (!c) return false;
    const child = c.querySelectorAll('.jp-OutputArea-child')[output];
    const el = child && child.querySelector('.jp-OutputArea-output');
    if (!el || el.children.length === 0) return false;
    if (/Error displaying widget|Loading widget|model not found/i.test(el.innerText || '')) return false;
    const r = el.getBoundingClientRect();
    return r.height > 0 && r.width > 0;
  });
}
"""

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _raise_cell_errors(result: dict[str, Any], where: str) -> None:
    errors = [(c["index"], e) for c in result["cells"] for e in c["errors"]]
    if errors:
        parts = [
            f"cell {i}: {e['ename']}: {e['evalue']}\n" + _ANSI.sub("", "\n".join(e.get("traceback") or []))
            for i, e in errors
        ]
        msg = f"{where} raised:\n" + "\n\n".join(parts)
        raise NotebookCellError(msg)
    if result["ok"] is False:
        msg = f"{where}: JupyterLab reported an unsuccessful execution"
        raise NotebookCellError(msg)


@dataclass
class _BaseNotebook:
    server: JupyterServer
    page: Any
    path: str
    kernel_id: str = ""
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    CELL_SELECTOR = ""

    def open(self) -> _BaseNotebook:
        raise NotImplementedError

    def execute(self, code: str, timeout: float = 30) -> str:
        """Run ``code`` in this page's kernel from Python (not as a notebook cell); returns what it printed.

        Widget state changes are broadcast over IOPub, so the page updates.
        """
        client = self.server.kernel_client(self.kernel_id)
        errors: list[str] = []
        printed: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "error":
                errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")
            elif msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                printed.append(msg["content"]["text"])

        try:
            reply = client.execute_interactive(code, timeout=timeout, output_hook=hook)
        finally:
            client.stop_channels()
        if errors or reply["content"]["status"] != "ok":
            msg = f"kernel execute failed: {errors or reply['content']}"
            raise NotebookCellError(msg)
        return "".join(printed)

    def cell_count(self) -> int:
        return int(self.page.locator(self.CELL_SELECTOR).count())

    def cell(self, index: int) -> Any:
        return self.page.locator(self.CELL_SELECTOR).nth(index)

    def output(self, index: int) -> Any:
        """Locator of cell ``index``'s output area."""
        return self.cell(index).locator(".jp-OutputArea")

    def screenshot(self, name: str, target: Any = None, **kwargs: Any) -> Path:
        """Save test-artifacts/browser/<name>.png of the page (or of a Locator)."""
        return save_screenshot(self.page if target is None else target, name, **kwargs)


class LabNotebook(_BaseNotebook):
    """A notebook opened in JupyterLab, driven through ``window.jupyterapp`` commands."""

    CELL_SELECTOR = ".jp-NotebookPanel .jp-Notebook .jp-Cell"

    def open(self) -> LabNotebook:
        self._open_at(self.server.url(f"lab/tree/{quote(self.path)}", reset=""), "JupyterLab")
        self.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # room for outputs
        return self

    def _open_at(self, url: str, app: str) -> None:
        """Go to ``url`` and wait until ``app`` shows the notebook with its kernel (a dialog fails the test)."""
        self.page.goto(url)
        handle = self.page.wait_for_function(_LAB_READY_JS, arg=self.path, timeout=self.timeout_ms, polling=100)
        state = handle.json_value()
        if state.startswith("dialog:"):
            msg = f"{app} showed a dialog while opening {self.path}: {state}"
            raise AssertionError(msg)
        self.kernel_id = state.split(":", 1)[1]

    def state(self) -> dict[str, Any]:
        """Cell model states: execution counts, error outputs, widget-view outputs."""
        return dict(self.page.evaluate(_LAB_STATE_JS, self.path))

    def _run(self, command: str, cell_index: int | None) -> dict[str, Any]:
        args = {"path": self.path, "command": command, "cellIndex": cell_index, "timeoutMs": self.timeout_ms}
        result = dict(self.page.evaluate(_LAB_RUN_JS, args))
        where = f"{self.path} {command}" + ("" if cell_index is None else f" (cell {cell_index})")
        _raise_cell_errors(result, where)
        return result

    def _wait_rendered(self, result: dict[str, Any], cell_indices: list[int]) -> None:
        outputs = [
            {"cell": c["index"], "output": j}
            for c in result["cells"]
            if c["index"] in cell_indices
            for j in c["widgetOutputs"]
        ]
        if outputs:
            self.page.wait_for_function(
                _WIDGETS_RENDERED_JS, arg=[self.CELL_SELECTOR, outputs], timeout=self.timeout_ms, polling=100
            )

    def run_all(self) -> dict[str, Any]:
        """Run all cells (``notebook:run-all-cells``), then wait for their widget views."""
        return self._all_ran(self._run("notebook:run-all-cells", None))

    def run_all_from_menu(self, timeout_ms: int | None = None) -> dict[str, Any]:
        """Run all cells as a learner does, with Run, then Run All Cells, in the menu bar; then as ``run_all``.

        The notebook's code cells must have no execution count yet (saved without outputs), so
        that the run is known to be over once every one has a count.
        """
        self.page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        self.page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        self.page.wait_for_function(_LAB_RUN_OVER_JS, arg=self.path, timeout=timeout_ms or self.timeout_ms, polling=200)
        result = self.state()
        _raise_cell_errors(result, f"{self.path} Run All Cells (menu)")
        return self._all_ran(result)

    def _all_ran(self, result: dict[str, Any]) -> dict[str, Any]:
        code = [c for c in result["cells"] if c["type"] == "code"]
        missing = [c["index"] for c in code if c["executionCount"] is None]
        if missing:
            msg = f"{self.path}: cells {missing} were not executed"
            raise NotebookCellError(msg)
        self._wait_rendered(result, [c["index"] for c in code])
        return result

    def run_cell(self, index: int) -> dict[str, Any]:
        """Run one cell (``notebook:run-cell``), then wait for its widget views."""
        result = self._run("notebook:run-cell", index)
        cell = result["cells"][index]
        if cell["type"] == "code" and cell["executionCount"] is None:
            msg = f"{self.path}: cell {index} was not executed"
            raise NotebookCellError(msg)
        self._wait_rendered(result, [index])
        return result

    def wait_for_widgets(self) -> None:
        """Wait until every widget view in the notebook's outputs is rendered."""
        result = self.state()
        self._wait_rendered(result, [c["index"] for c in result["cells"]])


class Notebook7Notebook(LabNotebook):
    """A notebook opened in Jupyter Notebook 7 (``jupyter notebook``): the same notebook widget and commands as Lab."""

    def open(self) -> Notebook7Notebook:
        self._open_at(self.server.url(f"notebooks/{quote(self.path)}"), "Notebook 7")
        return self


class VoilaNotebook(_BaseNotebook):
    """A notebook rendered by Voila: every cell runs server-side while the page loads."""

    # Voila renders only cells that have outputs (inputs hidden), so these
    # indices can differ from the notebook's cell indices.
    CELL_SELECTOR = "#rendered_cells .jp-Cell"

    def open(self) -> VoilaNotebook:
        # the response is sent once Voila has executed the notebook
        self.page.goto(self.server.url(f"voila/render/{quote(self.path)}"), timeout=self.timeout_ms * 2)
        self.kernel_id = self.page.evaluate(
            "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"
        )
        return self

    def run_all(self) -> None:
        """Voila already ran every cell; wait until the widgets are on screen."""
        self.wait_for_widgets()

    def wait_for_widgets(self) -> None:
        # Voila removes #loading once the kernel is connected and widgets are rendered
        self.page.wait_for_selector("#loading", state="detached", timeout=self.timeout_ms)
        errors = self.page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error'],"
            " .jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']"
        )
        if errors.count():
            msg = f"{self.path} (voila) produced errors:\n" + "\n".join(errors.all_inner_texts())
            raise NotebookCellError(msg)
        self.page.wait_for_function(
            """(sel) => Array.from(document.querySelectorAll(sel + ' .jp-OutputArea-output'))
                 .every(el => !/Error displaying widget|model not found/i.test(el.innerText))""",
            arg=self.CELL_SELECTOR,
            timeout=self.timeout_ms,
        )


@pytest.fixture
def open_notebook(
    jupyter_server: JupyterServer, browser_page: Any, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Any]]:
    """``open_notebook(path, mode="lab"|"voila")`` -> an opened Lab/VoilaNotebook.

    ``path`` is relative to ``jupyter_server.root_dir`` (write it first with
    ``jupyter_server.write_notebook``).  Kernels it started are shut down after
    the test.
    """
    opened: list[_BaseNotebook] = []

    def _open(path: str, mode: str = "lab") -> Any:
        nb: _BaseNotebook
        if mode == "voila":
            if not jupyter_server.voila_available:
                skip_or_fail("voila is not installed (pip install voila)")
            nb = VoilaNotebook(jupyter_server, browser_page, path)
        elif mode == "lab":
            nb = LabNotebook(jupyter_server, browser_page, path)
        else:
            msg = f"unknown mode {mode!r}"
            raise ValueError(msg)
        opened.append(nb)
        return nb.open()

    yield _open

    if _failed(request):
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        log = ARTIFACTS_DIR / f"{_slug('FAILED-' + request.node.name)}.server.log"
        log.write_text(jupyter_server.log_tail(200))
    for nb in opened:
        if nb.kernel_id:
            jupyter_server.shutdown_kernel(nb.kernel_id)
