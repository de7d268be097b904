"""The built distributions ship what the package needs at run time, and an installed wheel (not the checkout,
not an editable install) generates a video with every shipped tGAN model through its ``tganaug`` CLI; an
editable install imports the package even from the folder that holds a clone named ``tganaug``.

The wheel and the sdist are built offline from a copy of the checkout's files (git-tracked and untracked
non-ignored ones, never ``build/`` or ``*.egg-info`` left over from an earlier build) with the setuptools
the running Python has (``setuptools.build_meta``, no build isolation, nothing downloaded).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import tifffile
from conftest import REPO_ROOT

FRAMES, SIZE = 2, 64


def _git_files(*args: str) -> list[str]:
    result = subprocess.run(["git", "-C", str(REPO_ROOT), "ls-files", "-z", *args], capture_output=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"packaging tests need a git checkout to know the shipped files: {result.stderr.decode().strip()}")
    return [name for name in result.stdout.decode().split("\0") if name]


def _clean_env() -> dict[str, str]:
    """The environment without anything that points Python at the checkout."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _require_offline_builds() -> None:
    if importlib.util.find_spec("setuptools.command.bdist_wheel") is None and importlib.util.find_spec("wheel") is None:
        pytest.skip("this Python's setuptools cannot build wheels offline (setuptools >= 70.1 or the wheel package "
                    "is needed; README's install brings a recent setuptools with torch)")


def _copy_checkout(dest: Path) -> Path:
    """Copy the checkout's git-tracked and untracked non-ignored files (what a fresh clone plus the user's
    uncommitted work holds) to ``dest``; return ``dest``."""
    for name in _git_files("--cached", "--others", "--exclude-standard"):
        if (REPO_ROOT / name).is_file():  # a tracked file deleted in the checkout is listed too
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, dest / name)
    return dest


def _venv(path: Path) -> Path:
    """A fresh venv at ``path`` that sees this Python's site-packages (the dependencies, pip); its python."""
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(path)], check=True,
                   timeout=120)
    return path / "bin" / "python"


def _pip_install(python: Path, *args: str, cwd: Path) -> None:
    """Install into ``python``'s venv offline, ignoring a tganaug that this Python already has (editable or not)."""
    result = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--no-build-isolation",
                             "--ignore-installed", "--disable-pip-version-check", "--quiet", *args],
                            cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"pip install {' '.join(args)} failed:\n{result.stderr[-3000:]}"


def _build(source: Path, out: Path, kind: str) -> Path:
    """Build ``kind`` ("sdist" or "wheel") of the project in ``source`` into ``out`` with setuptools.build_meta."""
    code = f"from setuptools import build_meta; print(build_meta.build_{kind}({str(out)!r}))"
    result = subprocess.run([sys.executable, "-c", code], cwd=source, env=_clean_env(), capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, f"build_{kind} failed in {source}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return out / result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``wheel`` (built from the checkout's files), ``sdist`` and ``wheel_from_sdist`` (built from the unpacked sdist)."""
    _require_offline_builds()
    root = tmp_path_factory.mktemp("dist")
    source = _copy_checkout(root / "source")
    out = root / "out"
    sdist, wheel = _build(source, out, "sdist"), _build(source, out, "wheel")
    with tarfile.open(sdist) as archive:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4
            archive.extractall(root / "unpacked", filter="data")
        else:
            archive.extractall(root / "unpacked")
    from_sdist = root / "out-from-sdist"
    (unpacked,) = (root / "unpacked").iterdir()
    return {"wheel": wheel, "sdist": sdist, "wheel_from_sdist": _build(unpacked, from_sdist, "wheel")}


def _wheel_names(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as archive:
        return {name for name in archive.namelist() if not name.endswith("/")}


def _installed_name(tracked: str) -> str:
    """Path of a checkout file inside the wheel (``plugins/`` is installed as ``tganaug_plugins/``)."""
    return "tganaug_plugins/" + tracked.removeprefix("plugins/") if tracked.startswith("plugins/") else tracked


def _runtime_files() -> list[str]:
    """Checkout files the installed package needs: its modules, the shipped weights, the tracker configs."""
    return [name for name in _git_files("tganaug", "plugins")
            if name.endswith(".py") or name.startswith("tganaug/weights/") or
            (name.startswith("plugins/trackers/") and name.endswith(".json"))]


@pytest.mark.slow
def test_wheel_and_sdist_hold_every_shipped_file(dists: dict[str, Path]) -> None:
    runtime = _runtime_files()
    weights = [name for name in runtime if name.startswith("tganaug/weights/")]
    assert any(name.startswith("tganaug/weights/tgan-") and name.endswith("/sr/checkpoint.pt") for name in weights)
    assert "plugins/trackers/btrack_cell_config.json" in runtime
    for kind in ("wheel", "wheel_from_sdist"):
        names = _wheel_names(dists[kind])
        missing = sorted(name for name in runtime if _installed_name(name) not in names)
        assert not missing, f"{dists[kind].name} ({kind}) lacks {len(missing)} shipped file(s): {missing}"
        stray = sorted(name for name in names if "_btrack_lib" in name or ".tmp-" in name or "__pycache__" in name)
        assert not stray, f"{kind} packages local or generated files: {stray}"
    assert _wheel_names(dists["wheel"]) == _wheel_names(dists["wheel_from_sdist"])
    with zipfile.ZipFile(dists["wheel"]) as archive:  # the bytes shipped are the checkout's
        for name in weights:
            assert archive.read(name) == (REPO_ROOT / name).read_bytes(), f"{name} differs in the wheel"
    with tarfile.open(dists["sdist"]) as archive:
        top = archive.getnames()[0].split("/")[0]
        names = {name.removeprefix(top + "/") for name in archive.getnames()}
    missing = sorted(name for name in [*runtime, "pyproject.toml", "README.md"] if name not in names)
    assert not missing, f"{dists['sdist'].name} lacks {len(missing)} file(s): {missing}"
    assert not [name for name in names if "_btrack_lib" in name or ".tmp-" in name]


def _tgan_weights_folders() -> set[str]:
    return {name.split("/")[2] for name in _git_files("tganaug/weights") if name.startswith("tganaug/weights/tgan-")}


@pytest.mark.slow
def test_installed_wheel_generates_with_every_shipped_tgan_model(dists: dict[str, Path], tmp_path: Path) -> None:
    from tganaug.utils.weights import weights_fingerprint

    venv = tmp_path / "venv"
    # the dependencies come from this Python's site-packages; tganaug itself only from the wheel
    python, cli = _venv(venv), venv / "bin" / "tganaug"
    env = _clean_env()
    work = tmp_path / "work"  # cwd first on sys.path: a folder holding nothing importable
    work.mkdir()
    _pip_install(python, str(dists["wheel"]), cwd=work)
    assert cli.is_file()

    probe = (
        "import json, importlib.metadata as md, tganaug, tganaug_plugins, tganaug_plugins.generators.tgan as g\n"
        "from tganaug.models.tgan import SHIPPED_MODELS\n"
        "from tganaug.utils.weights import WEIGHTS_DIR\n"
        "ep = md.entry_points(group='tganaug.generators')['tgan']\n"
        "print(json.dumps({'tganaug': tganaug.__file__, 'plugins': tganaug_plugins.__file__, 'tgan': g.__file__,"
        " 'weights': str(WEIGHTS_DIR), 'dist': str(md.distribution('tganaug').locate_file('')),"
        " 'entry_point': str(ep.dist.locate_file('')), 'models': SHIPPED_MODELS}))\n"
    )
    result = subprocess.run([str(python), "-c", probe], cwd=work, env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    site = next((venv / "lib").glob("python3*/site-packages")).resolve()
    for key in ("tganaug", "plugins", "tgan", "weights", "dist", "entry_point"):
        path = Path(found[key]).resolve()
        assert path.is_relative_to(site), f"{key} resolves to {path}, not to the wheel installed in {site}"
    assert not list(site.glob("__editable__*tganaug*")), "the venv holds an editable install of tganaug"
    models: dict[str, str] = found["models"]
    assert set(models.values()) == _tgan_weights_folders()  # every shipped model folder has a name, and back

    def size_of(name: str) -> int:
        """Frame side for a model: its fitted simulator's cells must fit (DIC-HeLa's, radius 66 px, do not fit 64²)."""
        return 256 if name == "dic-hela" else SIZE

    def generate(name: str) -> subprocess.CompletedProcess:
        side = str(size_of(name))
        command = [str(cli), "generate", "--generator", "tgan", "--model", name, "--videos", "1", "--frames", str(FRAMES),
                   "--height", side, "--width", side, "--seed", "0", "--out", str(tmp_path / name), "--quiet"]
        return subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False)

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = dict(zip(models, pool.map(generate, models)))
    for name, folder in models.items():
        run = runs[name]
        assert run.returncode == 0, f"tganaug generate --model {name} failed:\n{run.stderr[-3000:]}"
        out = tmp_path / name
        frames = sorted((out / "01").glob("t*.tif"))
        masks = sorted((out / "01_GT" / "TRA").glob("man_track*.tif"))
        assert [p.name for p in frames] == [f"t{t:03d}.tif" for t in range(FRAMES)], name
        assert [p.name for p in masks] == [f"man_track{t:03d}.tif" for t in range(FRAMES)], name
        for frame_path, mask_path in zip(frames, masks):
            frame, mask = tifffile.imread(frame_path), tifffile.imread(mask_path)
            side = size_of(name)
            assert frame.shape == (side, side) and frame.dtype == np.uint16 and frame.max() > 0, (name, frame_path)
            assert mask.shape == (side, side) and mask.dtype == np.uint16 and mask.max() > 0, (name, mask_path)
        assert (out / "01_GT" / "TRA" / "man_track.txt").read_text().strip(), name
        record = json.loads((out / "generator.json").read_text())
        assert record["name"] == "tgan" and record["config"]["model"] == name
        # rendered with the installed copy of the checkout's weights, byte for byte
        assert record["config"]["weights_sha256"] == weights_fingerprint(REPO_ROOT / "tganaug" / "weights" / folder), name


@pytest.mark.slow
def test_editable_install_imports_the_package_from_the_folder_holding_the_clone(tmp_path: Path) -> None:
    """A clone named ``tganaug`` is, seen from its parent folder, a namespace package ``tganaug`` (cwd is first
    on sys.path). The editable install must still give the real package there, as a wheel install does."""
    _require_offline_builds()
    parent = tmp_path / "projects"
    clone = _copy_checkout(parent / "tganaug")
    python = _venv(tmp_path / "venv")
    _pip_install(python, "-e", str(clone), cwd=tmp_path)
    probe = ("import json, tganaug, tganaug_plugins.generators.tgan as g\n"
             "from tganaug.utils.weights import WEIGHTS_DIR\n"
             "print(json.dumps({'file': tganaug.__file__, 'tgan': g.__file__, 'weights': str(WEIGHTS_DIR),"
             " 'api': all(hasattr(tganaug, n) for n in ('get_simulator', 'get_generator', 'get_tracker'))}))\n")
    result = subprocess.run([str(python), "-c", probe], cwd=parent, env=_clean_env(), capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["file"] is not None, f"`import tganaug` from {parent} gave the clone folder as a namespace package"
    assert Path(found["file"]).resolve() == clone.resolve() / "tganaug" / "__init__.py"
    assert Path(found["tgan"]).resolve() == clone.resolve() / "plugins" / "generators" / "tgan.py"
    assert Path(found["weights"]) == clone.resolve() / "tganaug" / "weights"
    assert found["api"]
