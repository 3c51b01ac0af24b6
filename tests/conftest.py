"""Shared fixtures: the real-data folder beside the checkout (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

#: ``../shared/data`` beside the project checkout.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder; tests using it skip, with the reason, when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (expected ../shared/data beside the checkout)")
    return SHARED_DATA
