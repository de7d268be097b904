"""Layers that point one way: inference never imports training code, the library never imports from its own
package ``__init__`` or from the plugins, and the procedural plugin is a thin adapter over the library's engine."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "tganaug"


def _package_of(path: Path) -> str:
    """The package a module of the repository belongs to (``tganaug/models/tgan.py`` -> ``tganaug.models``)."""
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1])


def _imports(source: str, package: str) -> list[tuple[int, str, str]]:
    """``(line, imported module, source text)`` of every import in ``source`` (a module of ``package``), at any depth
    (functions included); relative imports resolved; ``from X import name`` gives ``X``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, ast.unparse(node)) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1]) if node.level else ""
            module = ".".join(filter(None, (base, node.module or "")))
            found.append((node.lineno, module, ast.unparse(node)))
    return found


def _module_imports(path: Path) -> list[tuple[int, str, str]]:
    return _imports(path.read_text(), _package_of(path))


def _library_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_import_scan_sees_absolute_relative_and_nested_imports() -> None:
    """The scanner the layer checks rely on: imports inside functions, relative imports and ``from X import Y``."""
    source = textwrap.dedent("""
        import tganaug
        from . import tgan
        from .. import registry

        def f():
            from tganaug import get_generator
            import tganaug.training.data as d
    """)
    assert _package_of(PACKAGE / "models" / "tgan.py") == "tganaug.models"
    assert {(line, name) for line, name, _ in _imports(source, "tganaug.models")} == {
        (2, "tganaug"), (3, "tganaug.models"), (4, "tganaug"), (7, "tganaug"), (8, "tganaug.training.data")}


def test_no_library_module_imports_the_package_init() -> None:
    """``from tganaug import ...`` / ``import tganaug`` (also relative, also inside functions) appear only in
    ``tganaug/__init__.py``: every library module imports a name from the module that defines it."""
    offending = [f"{path.relative_to(REPO)}:{line}: {source}" for path in _library_modules() if path != PACKAGE / "__init__.py"
                 for line, module, source in _module_imports(path) if module == "tganaug"]
    assert offending == []


def test_models_never_import_training_and_the_library_never_imports_plugins() -> None:
    models = [f"{path.relative_to(REPO)}:{line}: {source}" for path in sorted((PACKAGE / "models").rglob("*.py"))
              for line, module, source in _module_imports(path) if module == "tganaug.training" or module.startswith("tganaug.training.")]
    assert models == []
    plugins = [f"{path.relative_to(REPO)}:{line}: {source}" for path in _library_modules()
               for line, module, source in _module_imports(path) if module.split(".")[0] == "tganaug_plugins"]
    assert plugins == []
    mentions = [f"{path.relative_to(REPO)}" for path in sorted((PACKAGE / "models").rglob("*.py")) if "tganaug.training" in path.read_text()]
    assert mentions == []


def _save_tiny_tgan(folder: Path) -> None:
    """A tiny two-stage tGAN as ``folder/lowres`` and ``folder/sr`` run checkpoints, with a reference background."""
    from tganaug.models.config import PRESETS
    from tganaug.models.lowres_generator import LowResGenerator
    from tganaug.models.sr_generator import SRGenerator
    from tganaug.training.checkpoint import save_checkpoint

    tiny = PRESETS["tiny"]
    torch.manual_seed(0)
    reference = {"video": torch.linspace(0.1, 0.3, 40 * 48).reshape(40, 48).half()}
    save_checkpoint(folder / "lowres" / "checkpoint.pt", {"config": tiny.to_dict(), "mode": "lowres", "step": 0, "default_background": 0.2,
                                                          "reference_backgrounds": reference,
                                                          "models": {"generator": LowResGenerator.from_config(tiny).state_dict()}})
    save_checkpoint(folder / "sr" / "checkpoint.pt", {"config": tiny.to_dict(), "mode": "sr", "step": 0,
                                                      "models": {"generator": SRGenerator.from_config(tiny).state_dict()}})


_INFERENCE = """
import hashlib, json, sys
import numpy as np
import torch

torch.set_num_threads(1)  # CPU convolutions round differently with another thread count

from tganaug.models.tgan import TGAN, background_from_video

model_dir = sys.argv[1]
labels = np.zeros((3, 37, 29), np.uint16)
labels[:, 5:15, 4:12] = 3
model = TGAN.from_pretrained(model_dir)
video = model.generate(labels, seed=1)
batch = model.generate_batch([labels, labels], seeds=[1, 2])
resolved = model.super_resolve(video, labels, seed=0)
background = background_from_video((video * 1000).astype(np.uint16), labels)

import tganaug
plugin = tganaug.get_generator("tgan", model=model_dir)
streamed = np.stack(list(plugin.iter_frames(iter(labels), seed=1)))
print(json.dumps({
    "video": hashlib.sha256(video.tobytes()).hexdigest(), "shape": list(video.shape),
    "batch_first": hashlib.sha256(batch[0].tobytes()).hexdigest(), "streamed": hashlib.sha256(streamed.tobytes()).hexdigest(),
    "resolved": list(resolved.shape), "background": list(background.shape),
    "training": sorted(name for name in sys.modules if name == "tganaug.training" or name.startswith("tganaug.training.")),
    "models": sorted(name for name in sys.modules if name.startswith("tganaug.models.")),
}))
"""


def test_inference_loads_no_training_module(tmp_path: Path) -> None:
    """Loading a two-stage tGAN from checkpoints and rendering with it (directly and through the ``tgan`` plugin), in a
    fresh interpreter, imports no ``tganaug.training`` module; the frames are those of the same model in this process."""
    _save_tiny_tgan(tmp_path / "model")
    result = subprocess.run([sys.executable, "-c", _INFERENCE, str(tmp_path / "model")], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["training"] == []
    assert {"tganaug.models.checkpoint", "tganaug.models.downsample", "tganaug.models.background", "tganaug.models.tgan"} <= set(seen["models"])
    assert seen["shape"] == [3, 37, 29] and seen["resolved"] == [3, 37, 29] and seen["background"] == [37, 29]
    assert seen["streamed"] == seen["video"]  # the plugin renders what the model renders

    import hashlib

    import torch

    from tganaug.models.tgan import TGAN

    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the subprocess: the bytes depend on the thread count
    try:
        labels = np.zeros((3, 37, 29), np.uint16)
        labels[:, 5:15, 4:12] = 3
        model = TGAN.from_pretrained(tmp_path / "model")
        assert hashlib.sha256(model.generate(labels, seed=1).tobytes()).hexdigest() == seen["video"]
        assert hashlib.sha256(model.generate_batch([labels, labels], seeds=[1, 2])[0].tobytes()).hexdigest() == seen["batch_first"]
    finally:
        torch.set_num_threads(previous)


def test_training_names_keep_their_old_import_paths() -> None:
    """Code importing the moved names from the training modules gets the very objects the models modules define."""
    from tganaug.models import background, checkpoint, downsample, normalize
    from tganaug.training import checkpoint as training_checkpoint
    from tganaug.training import data as training_data

    for name in ("CHECKPOINT_NAME", "FORMAT", "CheckpointError", "load_checkpoint", "load_network_state", "resolve_checkpoint"):
        assert getattr(training_checkpoint, name) is getattr(checkpoint, name), name
    assert training_data.background_from_video is background.background_from_video
    assert training_data.normalize_video is normalize.normalize_video
    assert training_data.downsample_image is downsample.downsample_image
    assert training_data.downsample_mask is downsample.downsample_mask


def test_package_entry_points_are_the_registry_functions() -> None:
    import tganaug
    import tganaug.registry
    import tganaug.version

    for name in ("get_generator", "get_simulator", "get_segmenter", "get_tracker", "default_registry", "get_plugin"):
        assert getattr(tganaug, name) is getattr(tganaug.registry, name), name
    assert tganaug.__version__ == tganaug.version.__version__


def test_procedural_plugin_is_a_thin_adapter() -> None:
    """The plugin module defines no class and no function but its hook; the engine lives in :mod:`tganaug.procedural`,
    and the plugin's public names (for third parties importing them from the plugin) are the library's objects."""
    import tganaug
    import tganaug.procedural as engine
    import tganaug_plugins.generators.procedural as plugin

    tree = ast.parse(Path(plugin.__file__).read_text())
    assert [type(node).__name__ for node in tree.body if isinstance(node, ast.ClassDef)] == []
    assert [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))] == ["tganaug_generators"]
    assert engine.ProceduralRenderer.__module__ == "tganaug.procedural.renderer"
    for name in plugin.__all__:
        assert getattr(plugin, name) is getattr(engine, name), name
    assert tganaug.default_registry().info("generator", "procedural").factory is engine.ProceduralRenderer
