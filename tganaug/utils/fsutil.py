"""Atomic writes: outputs appear complete or not at all, and nothing existing is lost by accident.

Output folders are owned: every folder tganaug writes holds a small record, ``.tganaug-output.json``
(``{"format": "tganaug-output", "kind": ..., "entries": [...]}``: the kind of output and the names it
writes, as ``fnmatch`` patterns). Replacing a folder (``overwrite``) is refused when it holds anything
that is not its own (:func:`foreign_entries`); folders written before the record existed are recognised by
their kind's known records and layout (:attr:`OutputKind.recognise`).
"""

from __future__ import annotations

import contextlib
import csv
import fnmatch
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["OUTPUT_RECORD", "OutputExistsError", "OutputKind", "atomic_directory", "atomic_write_bytes", "atomic_write_csv",
           "atomic_write_json", "check_output_dir", "check_replaceable", "default_mode", "describe_entries", "foreign_entries", "move_output_aside",
           "not_empty_message", "output_kind_of", "put_back", "remove_own_entries", "replaced_output_dir", "write_output_record"]

#: the record of ownership every tganaug output folder holds
OUTPUT_RECORD = ".tganaug-output.json"
_RECORD_FORMAT = "tganaug-output"
_SHOWN = 5  # refusals name this many unknown entries, then give the count


class OutputExistsError(FileExistsError):
    """The output already exists and ``overwrite`` was not given, or it holds what tganaug did not write."""


@dataclass(frozen=True)
class OutputKind:
    """A kind of output folder: what it is called, the names it writes, how an old one (no record) is recognised.

    Attributes:
        name: the kind written into the record, e.g. ``"dataset"``.
        entries: ``fnmatch`` patterns of the top-level names this kind writes (``"[0-9][0-9]_GT"``);
            hidden staging leftovers of those names (``.NAME.tmp-*``) belong to it too.
        description: what such a folder is, for messages ("a dataset written by tganaug generate").
        recognise: True for a folder of this kind written before the record existed (its known records
            and layout); None: only folders with a record are recognised.
    """

    name: str
    entries: tuple[str, ...]
    description: str
    recognise: Callable[[Path], bool] | None = None


def default_mode(directory: bool = False) -> int:
    """The permissions a plain ``open`` / ``mkdir`` would give under the current umask (``tempfile``'s
    files and folders are private, 0600 / 0700: an output moved into place from one would be too)."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def _read_record(folder: Path) -> dict[str, Any] | None:
    """The ownership record of ``folder`` (None when absent or not one)."""
    try:
        record = json.loads((folder / OUTPUT_RECORD).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("format") != _RECORD_FORMAT or not isinstance(record.get("kind"), str):
        return None
    entries = record.get("entries")
    record["entries"] = [e for e in entries if isinstance(e, str)] if isinstance(entries, list) else []
    return record


def output_kind_of(folder: str | Path) -> str | None:
    """The kind named by the ownership record of ``folder`` (None without one)."""
    record = _read_record(Path(folder))
    return record["kind"] if record else None


def write_output_record(folder: str | Path, kind: OutputKind) -> None:
    """Write the ownership record of ``kind`` into ``folder`` (atomically; the same bytes every time)."""
    atomic_write_json(Path(folder) / OUTPUT_RECORD, {"format": _RECORD_FORMAT, "kind": kind.name, "entries": list(kind.entries)})


def _own_patterns(folder: Path, kind: OutputKind | None) -> tuple[str, ...] | None:
    """The patterns of the names ``folder`` holds of its own as an output of ``kind`` (None: not recognised as one).

    ``kind=None``: any tganaug output folder, by its record alone."""
    record = _read_record(folder)
    if record is not None:
        if kind is None:
            return tuple(record["entries"])
        if record["kind"] == kind.name:
            return (*kind.entries, *record["entries"])
        return None
    if kind is not None and kind.recognise is not None and kind.recognise(folder):
        return kind.entries
    return None


def _is_own(name: str, patterns: Sequence[str]) -> bool:
    if name == OUTPUT_RECORD:
        return True
    if name.startswith(".") and ".tmp-" in name:  # staging of an atomic write of one of its own names
        name = name[1:name.index(".tmp-")]
        if name == OUTPUT_RECORD:
            return True
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def foreign_entries(folder: str | Path, kind: OutputKind | None = None, *, made_by_this_run: bool = False) -> list[str]:
    """Sorted names in ``folder`` that are not its own as an output of ``kind``: every name when the folder is not
    recognised as one (no record of ``kind``, not an earlier version's layout of it). Empty for a missing folder.
    ``made_by_this_run``: the caller created ``folder`` (it is recognised as ``kind`` without a record)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    names = sorted(entry.name for entry in folder.iterdir())
    patterns = kind.entries if made_by_this_run and kind is not None else _own_patterns(folder, kind)
    if patterns is None:
        return names
    return [name for name in names if not _is_own(name, patterns)]


def describe_entries(names: Sequence[str]) -> str:
    """``a, b, c, d, e and 3 more (8 entries)``."""
    shown = ", ".join(names[:_SHOWN])
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return f"{shown}{more} ({len(names)} entr{'y' if len(names) == 1 else 'ies'})"


def _what(kind: OutputKind | None) -> str:
    return kind.description if kind is not None else "a folder written by tganaug"


def check_replaceable(path: str | Path, kind: OutputKind | None = None, what: str = "output directory") -> Path:
    """Raise :class:`OutputExistsError` unless replacing ``path`` deletes only what tganaug wrote there as an output
    of ``kind``; the message names the unknown entries (the first few, and their count) and how to proceed."""
    path = Path(path)
    unknown = foreign_entries(path, kind)
    if unknown:
        recorded = output_kind_of(path)
        other = f" (it is a tganaug {recorded!r} output)" if recorded and kind is not None and recorded != kind.name else ""
        raise OutputExistsError(
            f"{what} {path} holds {describe_entries(unknown)} that tganaug did not write there as {_what(kind)}{other}; "
            "--overwrite only replaces what tganaug wrote, so nothing was deleted: choose an empty or new folder, "
            "or move those files out first"
        )
    return path


def check_output_dir(path: str | Path, overwrite: bool, kind: OutputKind | None = None, what: str = "output directory") -> Path:
    """Refuse an output directory that is a file, a non-empty directory without ``overwrite`` (saying what
    ``overwrite`` would delete), or with ``overwrite`` one that holds anything tganaug did not write there
    (:func:`check_replaceable`)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{what} {path} exists and is not a directory")
    if not (path.is_dir() and any(path.iterdir())):
        return path
    if overwrite:
        return check_replaceable(path, kind, what)
    raise OutputExistsError(not_empty_message(path, kind, what))


def not_empty_message(path: Path, kind: OutputKind | None, what: str = "output directory") -> str:
    """Why a non-empty ``path`` is refused without ``overwrite``, and what ``overwrite`` would do with it."""
    unknown = foreign_entries(path, kind)
    if unknown:
        return (f"{what} {path} is not empty: it holds {describe_entries(unknown)} that tganaug did not write there as {_what(kind)}, "
                "so --overwrite would refuse it too; choose an empty or new folder, or move those files out first")
    names = sorted(entry.name for entry in path.iterdir() if entry.name != OUTPUT_RECORD)
    shown = f" ({', '.join(names[:_SHOWN])}{' ...' if len(names) > _SHOWN else ''})" if names else ""
    return (f"{what} {path} is not empty: it holds {_what(kind)}{shown}; "
            "pass overwrite=True (--overwrite) to replace it, which deletes everything in it")


def remove_own_entries(folder: str | Path, kind: OutputKind | None = None, *, made_by_this_run: bool = False) -> list[str]:
    """Delete what ``folder`` holds of its own as an output of ``kind`` (nothing when it is not recognised as one;
    ``made_by_this_run``: see :func:`foreign_entries`), then ``folder`` itself if that left it empty; return the
    names left (what tganaug did not write)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    unknown = foreign_entries(folder, kind, made_by_this_run=made_by_this_run)
    for entry in folder.iterdir():
        if entry.name in unknown or entry.name == OUTPUT_RECORD:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    if not unknown:
        with contextlib.suppress(FileNotFoundError):
            (folder / OUTPUT_RECORD).unlink()
        with contextlib.suppress(OSError):
            folder.rmdir()
    return unknown


def move_output_aside(path: str | Path, kind: OutputKind | None = None, what: str = "output directory") -> Path:
    """Move the tganaug output ``path`` to ``<aside>/content`` beside it and return ``<aside>`` (a hidden
    ``.NAME.old-*`` folder); refused (:func:`check_replaceable`), nothing moved, when it holds anything else,
    also when that appeared while it was moved."""
    path = Path(path).absolute()
    check_replaceable(path, kind, what)
    aside = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
    try:
        os.rename(path, aside / "content")
        unknown = foreign_entries(aside / "content", kind)  # a file put there between the check and the move
        if unknown:
            os.rename(aside / "content", path)
            check_replaceable(path, kind, what)
    except BaseException:
        if not (aside / "content").exists():
            shutil.rmtree(aside, ignore_errors=True)
        raise
    return aside


def put_back(path: Path, aside: Path, kind: OutputKind | None = None) -> None:
    """Undo :func:`move_output_aside`: remove what a failed run wrote at ``path`` (only its own entries) and move
    the old content back. When ``path`` holds something else (put there meanwhile), the old content stays in
    ``aside`` and the error says so."""
    if path.exists():
        left = remove_own_entries(path, kind, made_by_this_run=True)
        if left:
            raise OutputExistsError(f"{path} gained {describe_entries(left)} while it was replaced; its previous content is kept in "
                                    f"{aside / 'content'}")
    os.rename(aside / "content", path)
    shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def replaced_output_dir(path: str | Path, kind: OutputKind, overwrite: bool, *, what: str = "output directory",
                        keep_new: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """``path`` as an empty output folder of ``kind`` (holding its record) for a block that writes into it step by step.

    The library entry point for a command with ``--out DIR --overwrite`` that writes in place (a model folder, a
    run): a missing or empty ``path`` is created; a non-empty one needs ``overwrite`` and must hold only what
    tganaug wrote there as ``kind`` (:func:`check_replaceable`, else :class:`OutputExistsError` naming the rest).
    Its old content is moved aside and removed once the block succeeds; when the block fails, what it wrote is
    removed and the old content put back, unless ``keep_new(path)`` says the new content is worth keeping. Files
    a run did not write are never deleted.
    """
    path = Path(path)
    check_output_dir(path, overwrite, kind, what)
    aside = move_output_aside(path, kind, what) if path.is_dir() and any(path.iterdir()) else None
    existed = path.is_dir()
    path.mkdir(parents=True, exist_ok=True)
    write_output_record(path, kind)
    try:
        yield path
    except BaseException:
        if keep_new is not None and keep_new(path):
            if aside is not None:
                shutil.rmtree(aside, ignore_errors=True)
        elif aside is not None:
            put_back(path, aside, kind)
        else:
            remove_own_entries(path, kind, made_by_this_run=True)
            if existed:
                path.mkdir(exist_ok=True)  # the user's empty folder stays
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(path: str | Path, overwrite: bool = False, kind: OutputKind | None = None) -> Iterator[Path]:
    """Yield a fresh temporary directory that replaces ``path`` when the block succeeds.

    The temporary directory sits beside ``path`` (same file system), so the final step is a
    rename. On error it is removed and ``path`` is untouched. An existing non-empty ``path`` is
    only replaced with ``overwrite=True`` and only when it holds nothing but what tganaug wrote there
    as an output of ``kind`` (``kind=None``: any folder with a tganaug record, by its recorded entries;
    :func:`check_replaceable`); the old content is moved aside first and removed only after the new one
    is in place. With ``kind`` the staging folder gets its ownership record first.
    """
    path = Path(path).absolute()
    check_output_dir(path, overwrite, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    old = None
    try:
        os.chmod(staging, default_mode(directory=True))
        if kind is not None:
            write_output_record(staging, kind)
        yield staging
        if path.exists():
            if not any(path.iterdir()):
                path.rmdir()  # an empty folder (the user's, or left by a failed swap) is replaced as it is
            elif not overwrite:  # another process finished the same output meanwhile
                raise OutputExistsError(f"output directory {path} appeared while this one was written; pass overwrite=True to replace it")
            else:
                old = move_output_aside(path, kind)
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
