"""The README's first example runs and prints exactly what the README shows."""

from __future__ import annotations

import re
import subprocess
import sys
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
