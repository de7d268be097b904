"""Shared fixtures. Tests needing the real data skip cleanly when ../shared is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: ``../shared/data`` beside the checkout, or the folder named by ``TGANAUG_SHARED_DATA``
SHARED_DATA = Path(os.environ.get("TGANAUG_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")
DATASETS = ("Fluo-N2DH-SIM+", "Fluo-N2DH-GOWT1", "PhC-Ecoli-vanVliet", "PhC-T98G-Usiigaci")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real CTC datasets (skips the test when ../shared/data is missing)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not available at {SHARED_DATA}")
    return SHARED_DATA
