"""Find (and at install time fetch) a ``libtracker`` shared library that loads on this machine.

btrack 0.7.0's bundled ``libtracker.so`` is linked against ``GLIBCXX_3.4.32``; Debian 12's libstdc++
stops at 3.4.30, so it cannot be loaded there. btrack 0.6.5's wheel holds a library built from the
same C++ sources that needs only ``GLIBCXX_3.4.21`` and exposes the same C interface. ``install``
downloads that wheel with pip (from PyPI, at install time only, never at run time) and keeps just
``btrack/libs/libtracker.so`` in ``_btrack_lib/`` beside this module::

    python -m tganaug_plugins.trackers.btrack_lib install   # once, part of the install command
    python -m tganaug_plugins.trackers.btrack_lib check     # says which library loads, or why none does

At run time :func:`library_path` picks, in order: ``$TGANAUG_BTRACK_LIB`` (path with or without
``.so``), btrack's own bundled library if it loads, the fetched 0.6.5 library.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

__all__ = ["BtrackLibraryError", "LIB_DIR", "FALLBACK_VERSION", "library_path", "install", "main"]

#: where ``install`` puts the fetched library
LIB_DIR = Path(__file__).resolve().parent / "_btrack_lib"
#: the btrack release whose wheel provides the fallback library
FALLBACK_VERSION = "0.6.5"
INSTALL_COMMAND = "python -m tganaug_plugins.trackers.btrack_lib install"
_SUFFIX = {"Linux": ".so", "Darwin": ".dylib", "Windows": ".DLL"}


class BtrackLibraryError(RuntimeError):
    """No btrack ``libtracker`` shared library can be loaded on this machine."""


def _suffix() -> str:
    return _SUFFIX.get(platform.system(), ".so")


def _try_load(stem: Path) -> str | None:
    """Load ``stem`` + platform suffix with ctypes; return None on success, else the reason."""
    full = stem.with_suffix(_suffix())
    if not full.is_file():
        return f"{full}: no such file"
    try:
        ctypes.CDLL(str(full))
    except OSError as error:
        return f"{full}: {error}"
    return None


def _bundled_stem() -> Path | None:
    try:
        import btrack.constants  # noqa: PLC0415  (not btrack.datasets: that one downloads at import)
    except ImportError:
        return None
    return Path(btrack.constants.BTRACK_LIB_PATH)


def library_path() -> Path:
    """The ``libtracker`` path without suffix (as ``btrack.libwrapper.BTRACK_LIB_PATH`` wants) that loads.

    Raises :class:`BtrackLibraryError` listing every candidate tried and why it failed to load.
    """
    tried: list[str] = []
    candidates: list[Path] = []
    override = os.environ.get("TGANAUG_BTRACK_LIB")
    if override:
        candidates.append(Path(override).with_suffix(""))
    bundled = _bundled_stem()
    if bundled is not None:
        candidates.append(bundled)
    candidates.append(LIB_DIR / "libtracker")
    for stem in candidates:
        reason = _try_load(stem)
        if reason is None:
            return stem
        tried.append(reason)
    raise BtrackLibraryError(
        "no btrack libtracker library loads on this machine; tried:\n  "
        + "\n  ".join(tried)
        + f"\nRun `{INSTALL_COMMAND}` (fetches btrack {FALLBACK_VERSION}'s library, which needs only "
        "GLIBCXX_3.4.21) or set TGANAUG_BTRACK_LIB to a libtracker built for this machine."
    )


def install(force: bool = False, quiet: bool = False) -> Path:
    """Fetch ``libtracker`` from btrack ``FALLBACK_VERSION``'s wheel into :data:`LIB_DIR`; return its path.

    Uses ``pip download`` (PyPI, the ordinary client). Does nothing when the library is already
    there and loads, unless ``force``.
    """
    target = (LIB_DIR / "libtracker").with_suffix(_suffix())
    if target.is_file() and not force and _try_load(target.with_suffix("")) is None:
        if not quiet:
            print(f"btrack library already installed: {target}")
        return target
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable, "-m", "pip", "download", f"btrack=={FALLBACK_VERSION}",
            "--no-deps", "--only-binary=:all:", "--dest", tmp, "--quiet",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = sorted(Path(tmp).glob("btrack-*.whl"))
        if result.returncode != 0 or not wheels:
            raise BtrackLibraryError(
                f"`{' '.join(command)}` failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}"
            )
        member = f"btrack/libs/libtracker{_suffix()}"
        with zipfile.ZipFile(wheels[0]) as wheel:
            if member not in wheel.namelist():
                raise BtrackLibraryError(f"{wheels[0].name} holds no {member}")
            LIB_DIR.mkdir(parents=True, exist_ok=True)
            staging = target.with_name(target.name + ".tmp-download")
            with wheel.open(member) as source, open(staging, "wb") as sink:
                shutil.copyfileobj(source, sink)
            os.replace(staging, target)
    reason = _try_load(target.with_suffix(""))
    if reason is not None:
        raise BtrackLibraryError(f"fetched btrack {FALLBACK_VERSION} library does not load either: {reason}")
    if not quiet:
        print(f"installed btrack {FALLBACK_VERSION} libtracker: {target}")
    return target


def main(argv: list[str] | None = None) -> int:
    """``install`` fetches the fallback library; ``check`` prints the library that loads (exit 1 if none)."""
    parser = argparse.ArgumentParser(prog="python -m tganaug_plugins.trackers.btrack_lib", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["install", "check"])
    parser.add_argument("--force", action="store_true", help="download again even if a working library is there")
    args = parser.parse_args(argv)
    try:
        if args.action == "install":
            bundled = _bundled_stem()
            if bundled is not None and _try_load(bundled) is None and not args.force:
                print(f"btrack's bundled library loads, nothing to fetch: {bundled.with_suffix(_suffix())}")
                return 0
            install(force=args.force)
        else:
            print(f"btrack library that loads: {library_path().with_suffix(_suffix())}")
    except BtrackLibraryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
