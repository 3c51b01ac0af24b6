"""The Census downloader against a server this test starts on 127.0.0.1.

The server answers like the Census Bureau's: TIGER/Line zips at
``/geo/tiger/TIGER{year}/{BG,PLACE}/tl_{year}_{state}_{layer}.zip`` (a real shapefile zip made
with pyogrio) and ACS answers at ``/data/{year}/acs/acs5?get=...&for=block group:*&in=state:S
county:C`` as ``[[header], [row], ...]`` JSON, computed for whatever variables are asked.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from _census_data import CELL, ORIGIN, api_json, block_groups, places, shapefile_zip
from shapely.geometry import Point

from zoning.census import build_units
from zoning.download import CensusSource, acs_url, cache_path, download_acs, download_block_groups, fetch
from zoning.errors import DownloadError
from zoning.pipeline import run_plan
from zoning.scenario import scenario_from_dict

YEAR = 2022
STATE, COUNTY = "01", "001"


@dataclass
class CensusServer:
    """A loopback HTTP server in a thread; ``override`` replaces the answer to a path."""

    port: int = 0
    requests: list[str] = field(default_factory=list)
    override: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    bg_zip: bytes = b""
    place_zip: bytes = b""
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, raw_path: str) -> tuple[int, str, bytes]:
        parsed = urllib.parse.urlsplit(raw_path)
        if parsed.path in self.override:
            return self.override[parsed.path]
        if parsed.path == f"/geo/tiger/TIGER{YEAR}/BG/tl_{YEAR}_{STATE}_bg.zip":
            return 200, "application/zip", self.bg_zip
        if parsed.path == f"/geo/tiger/TIGER{YEAR}/PLACE/tl_{YEAR}_{STATE}_place.zip":
            return 200, "application/zip", self.place_zip
        if parsed.path == f"/data/{YEAR}/acs/acs5":
            query = urllib.parse.parse_qs(parsed.query)
            if query.get("for") != ["block group:*"]:
                return 400, "text/plain", b"error: unknown/unsupported geography hierarchy"
            if query.get("in") != [f"state:{STATE} county:{COUNTY}"]:
                return 204, "application/json", b""
            names = query["get"][0].split(",")
            variables = [n for n in names if n != "NAME"]
            unknown = [v for v in variables if v[:6] not in ("B01001", "C17002", "B19013")]
            if unknown:
                return 400, "text/plain", f"error: unknown variable '{unknown[0]}'".encode()
            geoids = [g for g in block_groups({"001": 3, "003": 1})["GEOID"] if g.startswith(STATE + COUNTY)]
            overrides = {(geoids[0], "B19013_001E"): "-666666666", (geoids[0], "B19013_001M"): "-222222222"}
            return (
                200,
                "application/json;charset=utf-8",
                api_json(variables, geoids, overrides=overrides).encode(),
            )
        return 404, "text/html", b"<html><body>Not Found</body></html>"

    def start(self) -> CensusServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner.requests.append(self.path)
                status, ctype, body = owner.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        server = self._server
        self._thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=5)
            self._server = None


@pytest.fixture(scope="module")
def zips() -> tuple[bytes, bytes]:
    bg = shapefile_zip(block_groups({"001": 3, "003": 1}), f"tl_{YEAR}_{STATE}_bg")
    pl = shapefile_zip(places(), f"tl_{YEAR}_{STATE}_place")
    return bg, pl


@pytest.fixture()
def server(zips: tuple[bytes, bytes]) -> Iterator[CensusServer]:
    srv = CensusServer(bg_zip=zips[0], place_zip=zips[1]).start()
    yield srv
    srv.stop()


def source_for(srv: CensusServer, cache: Path, **kw: object) -> CensusSource:
    return CensusSource(
        api_url=f"{srv.root}/data",
        tiger_url=f"{srv.root}/geo/tiger",
        year=YEAR,
        cache_folder=cache,
        timeout_s=5,
        **kw,
    )  # type: ignore[arg-type]


def scenario_data(srv: CensusServer, cache: Path, **census: object) -> dict:
    return {
        "name": "autauga",
        "schools": {"path": "schools.geojson"},
        "students": {"total": 450},
        "census": {
            "state": STATE,
            "county": COUNTY,
            "year": YEAR,
            "api_url": f"{srv.root}/data",
            "tiger_url": f"{srv.root}/geo/tiger",
            "cache_folder": str(cache),
            "timeout_s": 5,
            **census,
        },
    }


def test_download_then_offline_from_cache(
    server: CensusServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CENSUS_API_KEY", "k3y-secret")
    cache = tmp_path / "cache"
    scenario = scenario_from_dict(scenario_data(server, cache), base_dir=tmp_path)

    units, report = build_units(scenario)

    # one statewide TIGER/Line zip, then the three ACS tables for the county, each with the key
    assert len(server.requests) == 4
    assert server.requests[0] == f"/geo/tiger/TIGER{YEAR}/BG/tl_{YEAR}_{STATE}_bg.zip"
    acs = [urllib.parse.urlsplit(r) for r in server.requests[1:]]
    for part in acs:
        q = urllib.parse.parse_qs(part.query)
        assert part.path == f"/data/{YEAR}/acs/acs5"
        assert q["for"] == ["block group:*"] and q["in"] == ["state:01 county:001"]
        assert q["key"] == ["k3y-secret"]
    asked = {v for part in acs for v in urllib.parse.parse_qs(part.query)["get"][0].split(",")}
    assert {"B01001_004E", "B01001_029M", "C17002_001E", "C17002_006M", "B19013_001E", "B19013_001M"} <= asked

    # county 003 was dropped; GEOIDs are Alabama's, leading zero kept
    assert len(units) == 9 and all(g.startswith("01001") and len(g) == 12 for g in units.index)
    assert units["students"].sum() == pytest.approx(450)
    assert units["low_income"].between(0, units["students"]).all() and units["low_income"].sum() > 0
    first = units.index[0]
    assert pd.isna(units.at[first, "median_income"]) and pd.isna(units.at[first, "median_income_moe"])
    assert report["acs"]["b19013"]["missing_codes"] == {"-222222222": 1, "-666666666": 1}

    # the cache holds the four answers, written atomically, never the key
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 4 and not any(name.startswith(".") for name in files)
    assert all("k3y" not in p.read_bytes().decode("latin-1") for p in cache.iterdir())
    assert "k3y" not in str(report)

    # second run: the server is gone, everything comes from the cache
    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{server.root}/data", timeout=2)
    again, _ = build_units(scenario)
    pd.testing.assert_frame_equal(again.drop(columns="geometry"), units.drop(columns="geometry"))
    assert again.geometry.equals(units.geometry)
    assert len(server.requests) == 4

    # and the whole plan runs offline from the cache, carrying the ACS fields to the outputs
    gpd.GeoDataFrame(
        {"school_id": ["west", "east"], "name": ["West", "East"], "capacity": [300, 300]},
        geometry=[
            Point(ORIGIN[0] + 0.5 * CELL, ORIGIN[1] + 1.5 * CELL),
            Point(ORIGIN[0] + 2.5 * CELL, ORIGIN[1] + 1.5 * CELL),
        ],
        crs="EPSG:4326",
    ).to_file(tmp_path / "schools.geojson")
    data = scenario_data(server, cache)
    data["policy"] = {"band": 0.2}
    result, folder = run_plan(scenario_from_dict(data, base_dir=tmp_path), out=tmp_path / "out")
    out = gpd.read_file(folder / "units.geojson")
    assert len(out) == 9 and set(out["school_id"]) == {"west", "east"}
    assert {"median_income", "median_income_moe", "students_moe", "low_income_moe"} <= set(out.columns)
    assert out["geoid"].str.startswith("01001").all()
    assert len(server.requests) == 4


def test_place_clips_the_county(server: CensusServer, tmp_path: Path) -> None:
    scenario = scenario_from_dict(
        scenario_data(server, tmp_path / "c", place="Prattville"), base_dir=tmp_path
    )
    units, report = build_units(scenario)
    assert server.requests[-1] == f"/geo/tiger/TIGER{YEAR}/PLACE/tl_{YEAR}_{STATE}_place.zip"
    # the town covers tract 020100 and 60% of tract 020200; tract 020300 lies outside it
    expected = {f"01001020{t}00{b}" for t in (1, 2) for b in (1, 2, 3)}
    assert set(units.index) == expected and report["selection"]["kept"] == 6
    partly = report["selection"]["kept_partly_outside"]
    assert sorted(partly) == sorted(g for g in expected if g[8] == "2")
    assert all(0.55 < share < 0.65 for share in partly.values())
    assert units["students"].sum() == pytest.approx(450)


def test_no_server_and_no_cache_is_a_clear_error(server: CensusServer, tmp_path: Path) -> None:
    server.stop()
    with pytest.raises(
        DownloadError,
        match=r"cannot download http://127\.0\.0\.1:\d+/geo/tiger/TIGER2022/BG/"
        r"tl_2022_01_bg\.zip .* no copy is cached",
    ):
        download_block_groups(STATE, source=source_for(server, tmp_path))


def test_refresh_falls_back_to_the_cache_when_offline(
    server: CensusServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = download_block_groups(STATE, source=source_for(server, tmp_path))
    server.stop()
    with caplog.at_level(logging.WARNING, logger="zoning.download"):
        again = download_block_groups(STATE, source=source_for(server, tmp_path, refresh=True))
    assert again == first and "using the cached copy" in caplog.text


def test_refresh_downloads_again(server: CensusServer, tmp_path: Path) -> None:
    download_acs("B19013", STATE, COUNTY, source=source_for(server, tmp_path))
    download_acs("B19013", STATE, COUNTY, source=source_for(server, tmp_path))
    assert len(server.requests) == 1
    download_acs("B19013", STATE, COUNTY, source=source_for(server, tmp_path, refresh=True))
    assert len(server.requests) == 2


def test_key_is_not_part_of_the_cache_name(server: CensusServer, tmp_path: Path) -> None:
    a = download_acs("B19013", STATE, COUNTY, source=source_for(server, tmp_path, api_key="one"))
    b = download_acs("B19013", STATE, COUNTY, source=source_for(server, tmp_path, api_key="two"))
    assert a == b and len(server.requests) == 1
    url = acs_url("B19013", STATE, COUNTY, source=source_for(server, tmp_path))
    assert "key=" not in url and a == cache_path(
        url, f"acs5_{YEAR}_B19013_{STATE}{COUNTY}.json", source=source_for(server, tmp_path)
    )
    assert "for=block%20group:*&in=state:01%20county:001" in url


def bad(status: int, ctype: str, body: bytes) -> Callable[[CensusServer], None]:
    def apply(srv: CensusServer) -> None:
        srv.override[f"/data/{YEAR}/acs/acs5"] = (status, ctype, body)
        srv.override[f"/geo/tiger/TIGER{YEAR}/BG/tl_{YEAR}_{STATE}_bg.zip"] = (status, ctype, body)

    return apply


@pytest.mark.parametrize(
    ("answer", "what", "match"),
    [
        (
            bad(400, "text/plain", b"error: unknown variable 'B01001_004E'"),
            "acs",
            r"failed with HTTP 400 .*unknown variable 'B01001_004E'.*check `\[census\] state`",
        ),
        (
            bad(200, "text/html", b"<html><head><title>Invalid Key</title></head></html>"),
            "acs",
            r"answered .* with text, not JSON: .*Invalid Key.*api_key_env",
        ),
        (bad(200, "application/json", b'[["NAME","B19013_001E","state"]]'), "acs", r"header but no rows"),
        (bad(200, "application/json", b'{"rows": 1}'), "acs", r"is not an array of rows"),
        (bad(204, "application/json", b""), "acs", r"returned no data \(HTTP 204\)"),
        (bad(404, "text/html", b"<html>Not Found</html>"), "bg", r"HTTP 404 .*check `\[census\] year`"),
        (bad(200, "text/html", b"<html>maintenance</html>"), "bg", r"did not return a zip archive"),
        (bad(403, "text/html", b"denied"), "acs", r"HTTP 403 .*refused the key"),
        (bad(503, "text/html", b"busy"), "bg", r"HTTP 503 .*try again later"),
    ],
)
def test_bad_answers_are_errors_and_never_cached(
    server: CensusServer, tmp_path: Path, answer: Callable[[CensusServer], None], what: str, match: str
) -> None:
    answer(server)
    source = source_for(server, tmp_path, api_key="abc")
    with pytest.raises(DownloadError, match=match) as info:
        if what == "acs":
            download_acs("B19013", STATE, COUNTY, source=source)
        else:
            download_block_groups(STATE, source=source)
    assert "abc" not in str(info.value)
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_zip_without_shapefile_is_rejected(server: CensusServer, tmp_path: Path) -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "nothing here")
    server.override[f"/geo/tiger/TIGER{YEAR}/BG/tl_{YEAR}_{STATE}_bg.zip"] = (
        200,
        "application/zip",
        buf.getvalue(),
    )
    with pytest.raises(DownloadError, match=r"holds no shapefile \(found \['readme.txt'\]\)"):
        download_block_groups(STATE, source=source_for(server, tmp_path))


def test_unknown_place_after_download(server: CensusServer, tmp_path: Path) -> None:
    scenario = scenario_from_dict(scenario_data(server, tmp_path / "c", place="Atlantis"), base_dir=tmp_path)
    from zoning.errors import InputError

    with pytest.raises(InputError, match=r"`\[census\] place` 'Atlantis' is not a place"):
        build_units(scenario)


def test_fetch_validates_before_writing(server: CensusServer, tmp_path: Path) -> None:
    def refuse(data: bytes, url: str) -> None:
        raise DownloadError(f"refused {len(data)} bytes from {url}")

    with pytest.raises(DownloadError, match=r"refused \d+ bytes"):
        fetch(
            f"{server.root}/geo/tiger/TIGER{YEAR}/BG/tl_{YEAR}_{STATE}_bg.zip",
            "x.zip",
            source=source_for(server, tmp_path),
            validate=refuse,
        )
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_unsupported_layers_and_tables_are_programming_errors(tmp_path: Path) -> None:
    from zoning.download import tiger_url

    with pytest.raises(ValueError, match=r"unknown TIGER/Line layer 'tract'"):
        tiger_url("tract", STATE, source=CensusSource(cache_folder=tmp_path))
    with pytest.raises(ValueError, match=r"unsupported ACS table 'B01003'"):
        download_acs("B01003", STATE, COUNTY, source=CensusSource(cache_folder=tmp_path))
