"""Shared test fixtures: the real-data folder beside the checkout, and a private cache folder."""

from __future__ import annotations

from pathlib import Path

import pytest

#: ``../shared/data`` beside the checkout: real public data for tests (never copied into the repo).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder; the test is skipped, with the reason, when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (../shared/data beside the checkout)")
    return SHARED_DATA


@pytest.fixture
def shared_file(shared_data: Path):
    """``shared_file("reno-nv-osm/reno_east3.osm")``: a file under the shared data, or skip."""

    def get(relative: str) -> Path:
        path = shared_data / relative
        if not path.is_file():
            pytest.skip(f"real test file {path} is absent")
        return path

    return get


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ``zoning.settings.cache_folder`` at a fresh folder so tests never write to ~/.cache."""
    from zoning import settings

    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setattr(settings, "cache_folder", folder)
    return folder
