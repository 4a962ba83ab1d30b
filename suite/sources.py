"""SQLAlchemy's source distribution, which holds its test suite: fetched once into a cache and unpacked.

pip fetches it with ``--no-binary sqlalchemy``: the same file as ``--no-binary :all:``, in seconds
rather than minutes, since pip then prepares the file's metadata with the build tools' wheels
instead of building setuptools and Cython from their own sources first.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

#: The folder inside the unpacked distribution that must be there for it to count as unpacked.
TESTS = Path("test") / "orm"


class SourceError(RuntimeError):
    """The source distribution could not be fetched or unpacked."""


def installed_version(python: str) -> str:
    """The version of SQLAlchemy that ``python`` imports."""
    command = [python, "-s", "-c", "import sqlalchemy; print(sqlalchemy.__version__)"]
    found = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own interpreter
    if found.returncode != 0:
        msg = f"{python} cannot import sqlalchemy: {found.stderr.strip()}; install it in that environment first."
        raise SourceError(msg)
    return found.stdout.strip()


def archive_in(cache: Path, version: str) -> Path | None:
    """The source distribution of ``version`` already in ``cache`` (named ``sqlalchemy-`` or ``SQLAlchemy-``)."""
    wanted = f"sqlalchemy-{version}.tar.gz"
    return next((path for path in sorted(cache.glob("*.tar.gz")) if path.name.lower() == wanted), None)


def download(cache: Path, version: str) -> Path:
    """Fetch the source distribution of SQLAlchemy ``version`` into ``cache`` with pip."""
    command = [
        *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
        *("--no-binary", "sqlalchemy", "--dest", str(cache), f"sqlalchemy=={version}"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - pip, as documented
    archive = archive_in(cache, version)
    if done.returncode != 0 or archive is None:
        msg = f"pip could not fetch the source distribution of SQLAlchemy {version}:\n{done.stderr.strip()}"
        raise SourceError(msg)
    return archive


def unpack(archive: Path, into: Path) -> Path:
    """Unpack ``archive`` as the folder ``into``, whole or not at all."""
    with tempfile.TemporaryDirectory(dir=into.parent, prefix=f".{into.name}-") as scratch:
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(scratch, filter="data")
            else:  # Python before 3.10.12: the same check by hand
                for member in tar.getmembers():
                    if member.name.startswith("/") or ".." in Path(member.name).parts:
                        msg = f"{archive} holds {member.name!r}, outside its folder; refusing to unpack it."
                        raise SourceError(msg)
                tar.extractall(scratch)  # noqa: S202 - every member was checked above
        tops = list(Path(scratch).iterdir())
        if len(tops) != 1 or not (tops[0] / TESTS).is_dir():
            msg = f"{archive} is not a SQLAlchemy source distribution with {TESTS}/ in it."
            raise SourceError(msg)
        if into.exists():
            shutil.rmtree(into)
        tops[0].rename(into)
    return into


def source_tree(cache: Path, version: str) -> Path:
    """The unpacked source distribution of SQLAlchemy ``version``, fetched and unpacked if need be."""
    cache.mkdir(parents=True, exist_ok=True)
    ignore = cache / ".gitignore"
    if not ignore.exists():  # as pytest and mypy do for their caches: git, and ruff with it, skip the folder
        ignore.write_text("# made by python -m suite: SQLAlchemy's sources and the runs' logs\n*\n", encoding="utf-8")
    folder = cache / f"sqlalchemy-{version}"
    if (folder / TESTS).is_dir():
        return folder
    return unpack(archive_in(cache, version) or download(cache, version), folder)
