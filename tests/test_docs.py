"""The documentation describes the project as it is, its links resolve, and its results pages are what the build
script makes from the committed result files."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT

#: work-history words: "session(s)" and issue numbers ("issue 8", "#8")
HISTORY = re.compile(r"\bsessions?\b|\bissues? \d+|(?<![\w&/#])#\d+\b", re.IGNORECASE)
#: text files whose wording is checked: the documentation, the model cards and the benchmark reports. Code and tests
#: are not: pytest's own vocabulary (``scope="session"``) is not work history, and code comments are reviewed with it.
TEXT_SUFFIXES = {".md", ".txt", ".csv", ".json"}


def _tracked() -> list[str]:
    return subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.splitlines()


def _checked_texts() -> list[Path]:
    files = [REPO_ROOT / name for name in ("README.md", "CONTRIBUTING.md", "CHANGELOG.md")]
    files += sorted((REPO_ROOT / "docs").rglob("*.md"))
    files += [REPO_ROOT / "tganaug" / "weights" / name for name in ("MODEL_CARD.md", "model_cards.json")]
    files += [REPO_ROOT / f for f in _tracked()
              if f.startswith(("benchmarks/results/", "benchmarks/baselines/")) and Path(f).suffix in TEXT_SUFFIXES]
    return files


def _build_results():
    spec = importlib.util.spec_from_file_location("build_results", REPO_ROOT / "docs" / "build_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_history_pattern_catches_what_it_must_and_nothing_else() -> None:
    for text in ("retrained in session 6", "Sessions 2-5", "issue 8's bar", "see #12", "(Issue 5)", "the session-6 defaults"):
        assert HISTORY.search(text), text
    for text in ("obsessions", "possession", "[guide](#fit-your-own-data)", "&#8203;", "tissue 5",
                 "https://example.org/a#1", "the issue is the 3 seeds"):
        assert not HISTORY.search(text), text


def test_documentation_and_reports_have_no_work_history_words() -> None:
    found = []
    for path in _checked_texts():
        assert path.is_file(), path
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if HISTORY.search(line):
                found.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()[:120]}")
    assert not found, "work-history words (say what was measured instead):\n" + "\n".join(found)


def test_no_tracked_file_name_has_work_history_words() -> None:
    names = [f for f in _tracked() if re.search(r"sessions?\d*|issues?\d+", f, re.IGNORECASE)]
    assert not names, names


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors: set[str] = set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (heading := re.match(r"#{1,6} (.+)", line)):
            slug, n = _slug(heading[1]), 0
            while (slug if n == 0 else f"{slug}-{n}") in anchors:
                n += 1
            anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def _links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)  # links in code blocks are code
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.findall(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)", text) + re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text)


def test_slug_is_githubs_anchor() -> None:
    assert _slug("Quick start (Python >= 3.10, CPU is enough)") == "quick-start-python--310-cpu-is-enough"
    assert _slug("`tganaug generate`: the main job") == "tganaug-generate-the-main-job"


DOCS_WITH_LINKS = ["README.md", "CONTRIBUTING.md", "CHANGELOG.md", "docs/*.md", "docs/results/*.md",
                   "benchmarks/results/training/README.md", "benchmarks/baselines/README.md"]


@pytest.mark.parametrize("pattern", DOCS_WITH_LINKS)
def test_relative_links_resolve(pattern: str) -> None:
    files = sorted(REPO_ROOT.glob(pattern))
    assert files, pattern
    broken = []
    for path in files:
        for link in _links(path):
            if re.match(r"[a-z]+:", link):  # http(s), mailto: not checked here
                continue
            target, _, anchor = link.partition("#")
            resolved = (path.parent / target).resolve() if target else path
            if not resolved.exists():
                broken.append(f"{path.relative_to(REPO_ROOT)}: {link} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                broken.append(f"{path.relative_to(REPO_ROOT)}: {link} (no heading #{anchor})")
    assert not broken, "\n".join(broken)


def test_results_pages_are_what_the_build_script_makes_from_the_csvs() -> None:
    build = _build_results()
    stale = [str(path.relative_to(REPO_ROOT)) for path, text in build.outputs().items()
             if not path.is_file() or path.read_text() != text]
    assert not stale, f"run `python docs/build_results.py`: {stale}"
    assert {p.name for p in (REPO_ROOT / "docs" / "results").glob("*.md")} == set(build.PAGE_BUILDERS)


def test_results_pages_quote_the_csv_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed CSV value changes the page: the figures are read, not typed."""
    import shutil

    build = _build_results()
    results = tmp_path / "results"
    shutil.copytree(build.RESULTS, results)
    csv_path = results / "downstream_gain_Fluo-N2DH-SIM+_tgan.csv"
    lines = csv_path.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[3].split(",")
    assert row[0] == "syn-only"
    row[header.index("MOTA_mean")] = "0.123456"
    csv_path.write_text("\n".join([*lines[:3], ",".join(row), *lines[4:]]) + "\n")
    monkeypatch.setattr(build, "RESULTS", results)
    page = build.downstream_page()
    assert any("| SIM+ | `fluo-nuclei` | syn-only | laptrack |" in line and "0.123 ± 0.016" in line for line in page)
    assert "**0.123 ± 0.016**" in "\n".join(build.summary_block())


def test_build_results_names_a_missing_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build = _build_results()
    monkeypatch.setattr(build, "RESULTS", tmp_path)
    with pytest.raises(SystemExit, match="fidelity.csv is missing"):
        build.rows("fidelity")


def test_readme_keeps_the_command_markers_ci_reads() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    for name in ("main", "test"):
        command = subprocess.run([sys.executable, str(REPO_ROOT / ".ci" / "readme_command.py"), name],
                                 capture_output=True, text=True, check=True).stdout.strip()
        assert command.startswith("pip install torch==2.13.0 -e ") and f"<!-- command: {name} -->" in readme
