"""README's Python API example runs as written (against ../shared/data) and gives what its comments say."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT


def _api_example() -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S)[1]


def test_readme_python_example_runs_and_scores_what_it_says(shared_data: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    # the example reads ../shared/data and writes out/ relative to the working directory, as from the checkout
    work = tmp_path / "checkout"
    work.mkdir()
    os.symlink(shared_data.parent, tmp_path / "shared")
    monkeypatch.chdir(work)
    torch.set_num_threads(1)
    code = _api_example().replace("num_workers=2", "num_workers=0")  # no worker processes in the test run
    namespace: dict = {}
    exec(compile(code, "README.md (Python API)", "exec"), namespace)
    video, frames, item, scores = namespace["video"], namespace["frames"], namespace["item"], namespace["scores"]
    assert video.labels.shape == (40, 128, 128) and video.labels.dtype == np.uint16
    assert frames.shape == (40, 128, 128) and frames.dtype == np.float32 and 0 <= frames.min() and frames.max() <= 1
    assert item["image"].shape == (8, 1, 128, 128) and item["label"].shape == (8, 128, 128)
    assert (work / "out" / "01_GT" / "TRA" / "man_track.txt").is_file()
    for key in ("MOTA", "MT", "ML", "precision", "recall", "DET", "SEG", "TRA"):
        assert math.isfinite(scores[key]), key
    assert scores["MOTA"] > 0.8 and scores["SEG"] > 0.7  # shipped unet + laptrack on SIM+ eval (README: 0.878 / 0.837)
