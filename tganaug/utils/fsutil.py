"""Atomic writes: outputs appear complete or not at all, and nothing existing is lost by accident."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["OutputExistsError", "atomic_directory", "atomic_write_bytes", "atomic_write_csv", "atomic_write_json", "check_output_dir",
           "default_mode"]


class OutputExistsError(FileExistsError):
    """The output already exists and ``overwrite`` was not given."""


def default_mode(directory: bool = False) -> int:
    """The permissions a plain ``open`` / ``mkdir`` would give under the current umask (``tempfile``'s
    files and folders are private, 0600 / 0700: an output moved into place from one would be too)."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def check_output_dir(path: str | Path, overwrite: bool) -> Path:
    """Refuse an output directory that is a file, or a non-empty directory without ``overwrite``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"output path {path} exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise OutputExistsError(f"output directory {path} is not empty; pass overwrite=True (--overwrite) to replace it")
    return path


@contextlib.contextmanager
def atomic_directory(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary directory that replaces ``path`` when the block succeeds.

    The temporary directory sits beside ``path`` (same file system), so the final step is a
    rename. On error it is removed and ``path`` is untouched. An existing non-empty ``path`` is
    only replaced with ``overwrite=True``; the old content is moved aside first and removed
    only after the new one is in place.
    """
    path = Path(path).absolute()
    check_output_dir(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    old = None
    try:
        os.chmod(staging, default_mode(directory=True))
        yield staging
        if path.exists():
            if not overwrite and any(path.iterdir()):  # another process finished the same output meanwhile
                raise OutputExistsError(f"output directory {path} appeared while this one was written; pass overwrite=True to replace it")
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.rename(path, old / "content")
        os.rename(staging, path)  # fails (ENOTEMPTY) if another process put a folder there since the check above
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None and (old / "content").exists() and not path.exists():  # moved aside, then the swap failed: put it back
            os.rename(old / "content", path)
        if old is not None and not (old / "content").exists():  # never leave an empty aside folder
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), default_mode())
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def atomic_write_json(path: str | Path, payload: Any) -> None:
    """Write ``payload`` as indented JSON, atomically."""
    atomic_write_bytes(path, (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode())


def atomic_write_csv(path: str | Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Write ``rows`` (dicts) as CSV with the header ``columns``, atomically (keys not in ``columns`` are an error)."""
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(path, table.getvalue().encode())
