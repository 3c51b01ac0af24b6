"""Atomic writes (a file or a folder is complete or absent) and byte-stable export text."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from zoning import io
from zoning.errors import InputError
from zoning.io import (
    atomic_write_bytes,
    atomic_write_text,
    check_output_folder,
    csv_text,
    geojson_text,
    save_folder,
    text_writer,
    to_json_text,
)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _failing_writer(path: Path) -> None:
    path.write_text("half a fi", encoding="utf-8")
    raise OSError("disk full")


# ----------------------------------------------------------------------------------- one file
def test_atomic_write_text_and_bytes(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.txt"
    assert atomic_write_text(target, "héllo\r\nworld\n") == target
    assert target.read_bytes() == "héllo\r\nworld\n".encode()  # no newline translation
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert _names(target.parent) == ["a.txt"]


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("previous\n")
    with pytest.raises(TypeError):
        atomic_write_text(target, 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_text() == "previous\n"
    assert _names(tmp_path) == ["a.txt"]


def test_an_interrupted_rename_keeps_the_previous_file(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.txt"
    target.write_text("previous\n")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new\n")
    monkeypatch.undo()
    assert target.read_text() == "previous\n"
    assert _names(tmp_path) == ["a.txt"]


# --------------------------------------------------------------------------------- a folder
def test_save_folder_writes_every_file(tmp_path: Path) -> None:
    folder = save_folder(tmp_path / "out", {"b.txt": text_writer("b\n"), "a.txt": text_writer("a\n")})
    assert folder == tmp_path / "out"
    assert _names(folder) == ["a.txt", "b.txt"]
    assert (folder / "a.txt").read_text() == "a\n"
    assert _names(tmp_path) == ["out"]


def test_save_folder_replaces_a_previous_folder_whole(tmp_path: Path) -> None:
    save_folder(tmp_path / "out", {"old.txt": text_writer("old\n"), "a.txt": text_writer("1\n")})
    save_folder(tmp_path / "out", {"a.txt": text_writer("2\n")})
    assert _names(tmp_path / "out") == ["a.txt"]
    assert (tmp_path / "out" / "a.txt").read_text() == "2\n"
    assert _names(tmp_path) == ["out"]


@pytest.mark.parametrize("previous", [True, False], ids=["previous-folder", "no-folder"])
def test_a_failing_writer_leaves_the_previous_folder_or_none(tmp_path: Path, previous: bool) -> None:
    if previous:
        save_folder(tmp_path / "out", {"a.txt": text_writer("before\n")})
    writers = {"a.txt": text_writer("after\n"), "b.txt": _failing_writer, "c.txt": text_writer("c\n")}
    with pytest.raises(OSError, match="disk full"):
        save_folder(tmp_path / "out", writers)
    if previous:
        assert _names(tmp_path) == ["out"]
        assert _names(tmp_path / "out") == ["a.txt"]
        assert (tmp_path / "out" / "a.txt").read_text() == "before\n"
    else:
        assert _names(tmp_path) == []


def test_a_failed_swap_puts_the_previous_folder_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new folder cannot be renamed into place: the previous one is restored, nothing else left."""
    save_folder(tmp_path / "out", {"a.txt": text_writer("before\n")})
    real = os.replace
    calls: list[tuple[str, str]] = []

    def flaky(src: str | Path, dst: str | Path) -> None:
        calls.append((str(src), str(dst)))
        if len(calls) == 2:  # 1: previous folder moved aside, 2: new folder into place
            raise PermissionError("busy")
        real(src, dst)

    monkeypatch.setattr(io.os, "replace", flaky)
    with pytest.raises(PermissionError, match="busy"):
        save_folder(tmp_path / "out", {"a.txt": text_writer("after\n")})
    monkeypatch.undo()
    assert len(calls) == 3  # the third call put the previous folder back
    assert (tmp_path / "out" / "a.txt").read_text() == "before\n"
    assert _names(tmp_path) == ["out"]


def test_an_interrupt_while_writing_leaves_no_temporary(tmp_path: Path) -> None:
    def interrupted(path: Path) -> None:
        path.write_text("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        save_folder(tmp_path / "out", {"a.txt": interrupted})
    assert _names(tmp_path) == []


# ----------------------------------------------------------------------- where outputs may go
def test_check_output_folder_accepts_new_empty_and_previous_output(tmp_path: Path) -> None:
    check_output_folder(tmp_path / "new" / "deeper")
    (tmp_path / "empty").mkdir()
    check_output_folder(tmp_path / "empty")
    (tmp_path / "previous").mkdir()
    (tmp_path / "previous" / "metrics.json").write_text("{}\n")
    (tmp_path / "previous" / "map.html").write_text("<html/>\n")
    check_output_folder(tmp_path / "previous")


def test_check_output_folder_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "plan.txt").write_text("x")
    with pytest.raises(InputError, match=r"output folder `.*plan\.txt` is an existing file, not a folder"):
        check_output_folder(tmp_path / "plan.txt")


def test_check_output_folder_refuses_a_folder_of_other_files(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.tex").write_text("x")
    with pytest.raises(InputError,
                       match=r"already holds other files \(\['thesis\.tex'\]\) and no `metrics\.json`"):
        check_output_folder(tmp_path / "docs")


def test_check_output_folder_refuses_a_path_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    with pytest.raises(InputError, match=r"lies under `.*a`, which is a file"):
        check_output_folder(tmp_path / "a" / "b" / "c")


def test_check_output_folder_refuses_a_broken_link(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "gone")
    with pytest.raises(InputError, match=r"output folder `.*link` is a broken symbolic link"):
        check_output_folder(tmp_path / "link")


# ------------------------------------------------------------------------------ stable text
def test_json_text_is_sorted_and_has_no_nan() -> None:
    data = {"b": np.float64(1.5), "a": [np.int64(2), float("nan"), np.bool_(True)],
            "c": {"z": pd.NA, "y": math.inf}, "p": Path("x/y")}
    text = to_json_text(data)
    assert text == to_json_text(dict(reversed(list(data.items()))))
    assert json.loads(text) == {"a": [2, None, True], "b": 1.5, "c": {"y": None, "z": None}, "p": "x/y"}
    assert text.endswith("}\n") and "NaN" not in text and "Infinity" not in text


def test_geojson_text_rounds_and_is_stable() -> None:
    gdf = gpd.GeoDataFrame(
        {"students": [1.0, float("nan")], "school_id": ["A", "B"]},
        geometry=[box(-95.123456789, 40.0, -95.0, 40.1), Point(-95.000000049, 40.000000051)],
        index=pd.Index(["010010000001", "010010000002"], name="geoid"), crs="EPSG:4326",
    )
    text = geojson_text(gdf, name="units")
    assert text == geojson_text(gdf.copy(), name="units")
    doc = json.loads(text)
    assert doc["name"] == "units"
    assert doc["features"][0]["properties"] == {"geoid": "010010000001", "students": 1.0, "school_id": "A"}
    assert doc["features"][1]["properties"]["students"] is None
    assert doc["features"][1]["geometry"]["coordinates"] == [-95.0, 40.0000001]
    assert "-95.1234568" in text and "-95.123456789" not in text


def test_csv_text_uses_unix_line_ends_and_a_fixed_float_format() -> None:
    df = pd.DataFrame({"x": [1 / 3, 2.0]}, index=pd.Index(["a", "b"], name="geoid"))
    assert csv_text(df) == "geoid,x\na,0.333333\nb,2\n"


def test_written_files_and_folders_get_ordinary_permissions(tmp_path: Path) -> None:
    """Temporaries are private (0600/0700); what is left in place has the umask's usual mode."""
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        atomic_write_bytes(tmp_path / "b.bin", b"x")
        save_folder(tmp_path / "out", {"c.txt": text_writer("c")})
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.bin").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "out" / "c.txt").stat().st_mode & 0o777 == 0o644
