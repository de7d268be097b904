import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import tganaug
from tganaug import PluginRegistry, PluginWarning, UnknownPluginError, hookimpl
from tganaug_plugins.simulators import division

PACKAGES = Path(__file__).parent / "plugin_packages"


def test_builtin_simulators_are_registered_through_entry_points():
    registry = PluginRegistry()
    assert {"random-walk", "division", "colony"} <= set(registry.names("simulator"))
    info = registry.info("simulator", "division")
    assert info.distribution == "tganaug"
    assert info.entry_point == "tganaug.simulators: division = tganaug_plugins.simulators.division"


def test_unknown_name_lists_available():
    with pytest.raises(UnknownPluginError, match=r"unknown simulator 'nope'; available simulators: .*colony, division, random-walk"):
        tganaug.get_simulator("nope")
    with pytest.raises(ValueError, match="unknown plugin kind 'widget'"):
        tganaug.get_plugin("widget", "x")


class _RaisingPlugin:
    @hookimpl
    def tganaug_simulators(self):
        raise RuntimeError("boom")


class _WrongReturnPlugin:
    @hookimpl
    def tganaug_trackers(self):
        return ["not", "a", "dict"]


class _DuplicatePlugin:
    @hookimpl
    def tganaug_simulators(self):
        return {"division": lambda **config: None}


def test_broken_plugins_in_code_are_reported_and_others_work():
    registry = PluginRegistry(load_entry_points=False)
    registry.register(division, where="builtin division")
    registry.register(_RaisingPlugin(), where="raising plugin", distribution="bad-dist")
    registry.register(_WrongReturnPlugin(), where="wrong plugin", distribution="worse-dist")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = registry.names("simulator")
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
    assert names == ["division"]
    assert any("raising plugin" in m and "bad-dist" in m and "RuntimeError: boom" in m for m in messages)
    assert any("wrong plugin" in m and "must return a dict" in m for m in messages)
    video = registry.create("simulator", "division").simulate(frames=3, height=32, width=32, seed=0)
    assert video.labels.shape == (3, 32, 32)


def test_duplicate_name_keeps_first():
    registry = PluginRegistry(load_entry_points=False)
    registry.register(division, where="builtin division")
    registry.register(_DuplicatePlugin(), where="duplicate", distribution="dup-dist")
    with pytest.warns(PluginWarning, match="'division' from dup-dist .* is already provided"):
        factory = registry.info("simulator", "division").factory
    assert factory is division.DivisionSimulator


def test_builtin_name_is_never_replaced_by_a_plugin_found_earlier():
    """Which package's entry points come first follows sys.path; a built-in name must win regardless."""
    registry = PluginRegistry(load_entry_points=False)
    registry.register(_DuplicatePlugin(), where="duplicate", distribution="dup-dist")
    registry.register(division, where="builtin division", distribution="tganaug")
    with pytest.warns(PluginWarning, match=r"'division' from dup-dist \(duplicate\) is already provided by tganaug"):
        factory = registry.info("simulator", "division").factory
    assert factory is division.DivisionSimulator


class _NotCallablePlugin:
    @hookimpl
    def tganaug_generators(self):
        return {"gen-not-callable": 42}


def test_plugin_with_a_non_callable_factory_is_named():
    registry = PluginRegistry(load_entry_points=False)
    registry.register(_NotCallablePlugin(), where="odd plugin", distribution="odd-dist")
    with pytest.warns(PluginWarning, match=r"odd plugin.*odd-dist.*'gen-not-callable' maps to a int, which is not callable"):
        assert registry.names("generator") == []


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    """Install the example and broken third-party packages into a private target folder."""
    target = tmp_path_factory.mktemp("site")
    for package in ("example", "broken"):
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
             "--target", str(target), str(PACKAGES / package)],
            check=True,
        )
    return target


def _run_with_site(site: Path, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_third_party_plugin_package_is_used_through_public_api(plugin_site):
    code = (
        "import numpy as np, tganaug\n"
        "v = tganaug.get_simulator('static-disks', count=4).simulate(frames=5, height=40, width=50, seed=2)\n"
        "tganaug.validate_tracks(v.labels, v.lineage)\n"
        "print(v.labels.shape, len(np.unique(v.labels)) - 1, tganaug.default_registry().info('simulator', 'static-disks').distribution)\n"
        "print(tganaug.get_simulator('division').simulate(frames=2, height=32, width=32).labels.shape)\n"
    )
    result = _run_with_site(plugin_site, code)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("(5, 40, 50)") and lines[0].endswith("tganaug-example-plugin")
    assert 1 <= int(lines[0].split()[-2]) <= 4
    assert lines[1] == "(2, 32, 32)"
    # the broken package is reported by name, the rest keeps working
    assert "'broken-sim' from tganaug-broken-plugin" in result.stderr
    assert "ModuleNotFoundError" in result.stderr


def test_cli_lists_third_party_plugin(plugin_site):
    result = _run_with_site(plugin_site, "from tganaug.cli import main; raise SystemExit(main(['plugins']))")
    assert result.returncode == 0, result.stderr
    assert "static-disks" in result.stdout and "from tganaug-example-plugin" in result.stdout
    # one module under two groups: each name shows its own entry point
    flaky = next(line for line in result.stdout.splitlines() if "flaky" in line)
    assert "tganaug.generators: flaky = tganaug_example_plugin" in flaky, flaky
    assert "broken-sim" not in result.stdout
    assert "failed to load and is skipped" in result.stderr


def test_example_simulator_is_deterministic(plugin_site):
    code = (
        "import tganaug\n"
        "a = tganaug.get_simulator('static-disks').simulate(3, 30, 30, seed=5).labels\n"
        "b = tganaug.get_simulator('static-disks').simulate(3, 30, 30, seed=5).labels\n"
        "print(a.tobytes() == b.tobytes())\n"
    )
    assert _run_with_site(plugin_site, code).stdout.strip() == "True"


def _registry_with_modules(tmp_path, monkeypatch, modules: dict[str, str], group: str = "tganaug.simulators"):
    """A registry that finds the installed plugins plus entry points naming the given modules (name -> source)."""
    import importlib.metadata

    for name, source in modules.items():
        (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    real = importlib.metadata.entry_points
    extra = [importlib.metadata.EntryPoint(name, name, group) for name in modules]
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group=None: [*real(group=group), *(e for e in extra if e.group == group)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry = PluginRegistry()
        names = registry.names("simulator")
    return names, [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]


def test_a_plugin_calling_sys_exit_on_import_is_skipped_by_name(tmp_path, monkeypatch):
    names, messages = _registry_with_modules(tmp_path, monkeypatch, {
        "exiting_plugin": "import sys\nsys.exit('CUDA not found, exiting')\n",
        "exiting_hook": "import sys\nfrom tganaug import hookimpl\n@hookimpl\ndef tganaug_simulators():\n    sys.exit(3)\n"})
    assert {"colony", "division", "random-walk"} <= set(names)  # the process lives on, the others work
    assert any("'exiting_plugin'" in m and "failed to load" in m and "SystemExit: CUDA not found" in m for m in messages)
    assert any("exiting_hook" in m and "failed in tganaug_simulators()" in m and "SystemExit: 3" in m for m in messages)


def test_a_missing_or_misspelt_hook_is_named(tmp_path, monkeypatch):
    names, messages = _registry_with_modules(tmp_path, monkeypatch, {
        "misspelt_plugin": "from tganaug import hookimpl\n@hookimpl\ndef tganaug_simulator():\n    return {'m': dict}\n",
        "undecorated_plugin": "def tganaug_simulators():\n    return {'u': dict}\n"})
    assert "m" not in names and "u" not in names
    assert any("misspelt_plugin" in m and "tganaug_simulator() is marked @hookimpl but is no tganaug hook "
               "(did you mean tganaug_simulators?)" in m for m in messages)
    assert any("undecorated_plugin" in m and "provides no tganaug_simulators() hook and adds nothing: its "
               "tganaug_simulators() lacks the @tganaug.hookimpl decorator" in m for m in messages)
    assert not any("tganaug_plugins" in m for m in messages)  # the built-ins implement their hooks
