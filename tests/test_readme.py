"""The README's first example runs and prints exactly what the README shows."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def test_first_example_prints_what_the_readme_says() -> None:
    text = README.read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    shown = re.search(r"```text\n(.*?)```", text, re.DOTALL)
    assert code is not None
    assert shown is not None
    result = subprocess.run([sys.executable, "-c", code.group(1)], capture_output=True, text=True, check=True)
    assert result.stdout == shown.group(1)


def test_quickstart_has_exactly_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    quickstart = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)```", quickstart, re.DOTALL)
    assert len(commands) == 2
    assert all(command.count("\n") == 1 for command in commands)
    assert "jupyter lab" in commands[0]
    assert "pytest" in commands[1]
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "grep -m1 -F '.[test]' README.md" in ci  # CI runs the README's own test command
    first_test_line = next(line for line in text.splitlines() if ".[test]" in line)
    assert first_test_line == commands[1].strip()


def notebook_command() -> list[str]:
    """The Quickstart's JupyterLab command, the part after the install, as words."""
    text = README.read_text(encoding="utf-8")
    quickstart = text.split("## Quickstart", 1)[1]
    first = re.search(r"```bash\n(.*?)```", quickstart, re.DOTALL)
    assert first is not None
    return shlex.split(first.group(1).strip().split(" && ")[-1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_notebook_command_starts_jupyterlab_for_whoever_runs_it(tmp_path: Path) -> None:
    """As any user, root included (CI, Docker and many classroom VMs run as root)."""
    program, *arguments = notebook_command()
    assert program == ".venv/bin/jupyter"
    assert arguments[0] == "lab"
    assert arguments[-1] == "notebooks/"
    port, token = free_port(), "readme-test"
    command = [
        str(Path(sys.executable).parent / "jupyter"),
        *arguments,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
    ]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}
    server = subprocess.Popen(command, cwd=README.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                output = server.stdout.read().decode() if server.stdout else ""
                msg = f"jupyter lab stopped (uid {os.getuid()}):\n{output}"
                raise AssertionError(msg)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=5) as reply:
                    listing = json.load(reply)
                break
            except OSError:
                assert time.monotonic() < deadline, "jupyter lab did not answer within a minute"
                time.sleep(0.25)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert listing["path"] == ""  # the server's root is notebooks/, as the command asks
    assert "00-index.ipynb" in {entry["name"] for entry in listing["content"]}
