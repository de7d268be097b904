"""Shared fixtures. Tests needing the real data skip cleanly when ../shared is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
DATASETS = ("Fluo-N2DH-SIM+", "Fluo-N2DH-GOWT1", "PhC-Ecoli-vanVliet", "PhC-T98G-Usiigaci")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real CTC datasets (skips the test when ../shared/data is missing)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not available at {SHARED_DATA}")
    return SHARED_DATA
