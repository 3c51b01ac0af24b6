"""Maps and the printable summary: geometry, colours, page content, and the pages in Chromium.

Browser tests open the written files in headless Chromium (Debian's ``chromium``) over the
DevTools protocol; they skip, saying why, when it is not installed. Screenshots and PDFs are
kept under ``test-artifacts/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from browser import Browser, chromium_path
from conftest import DEMO, ROOT, shared_path
from shapely.geometry import LineString

from zoning.cli import main
from zoning.errors import InputError
from zoning.maps import (
    CONFUSABLE_DELTA_E,
    OKABE_ITO,
    PALETTE,
    MapAssetError,
    colour_distance,
    leaflet_assets,
    plan_colours,
    render_map,
    round_coordinates,
    simplify_coverage,
    zone_colours,
    zone_neighbours,
)
from zoning.metrics import district_metrics, zone_geometries, zone_table
from zoning.pipeline import load_inputs, save_plan, solve
from zoning.report import render_summary
from zoning.scenario import load_scenario
from zoning.schools import assign_current
from zoning.synthetic import make_district
from zoning.traveltime import compute_straight_line

ARTIFACTS = ROOT / "test-artifacts"
MB = 1024 * 1024


# --- plans built in code ------------------------------------------------------------------


def nearest_school_plan(n_units: int, n_schools: int, seed: int) -> dict:
    """A synthetic district, its current assignment and a nearest-school plan with metrics.

    The plan is made by a simple rule (each unit to the school with the shortest straight-line
    travel time) so map tests do not depend on the solver; metrics are the real ones.
    """
    d = make_district(n_units=n_units, n_schools=n_schools, seed=seed)
    units, schools = d.units, d.schools
    current, _ = assign_current(units, d.current_zones)
    tt = compute_straight_line(units, schools).seconds
    plan = tt.idxmin(axis=1).rename("school_id")
    table = zone_table(plan, units["students"], units["low_income"], schools["capacity"], tt,
                       names=schools["name"])
    district = district_metrics(plan, units["students"], units["low_income"], schools["capacity"], tt,
                                band=0.1, current=current)
    layer = units[["students", "low_income", "geometry"]].copy()
    layer.insert(0, "school_id", plan)
    layer["travel_time_s"] = [tt.at[u, s] for u, s in plan.items()]
    zones = zone_geometries(units, plan)
    return {"units": layer, "zones": zones, "schools": schools, "table": table, "district": district,
            "current": current, "current_zones": d.current_zones, "plan": plan}


def page_data(text: str) -> dict:
    """The ``zoningData`` object written into a map page."""
    match = re.search(r"var zoningData = (\{.*?\});\nzoning\.init", text, re.S)
    assert match, "the page has no zoningData"
    return json.loads(match.group(1).replace("<\\/", "</"))


@pytest.fixture(scope="module")
def small() -> dict:
    return nearest_school_plan(80, 5, 3)


@pytest.fixture(scope="module")
def large() -> dict:
    return nearest_school_plan(1000, 40, 11)


def render(p: dict, **kwargs) -> str:
    fig = render_map(p["units"], p["zones"], p["schools"], p["table"], p["district"], title="Test district",
                     status="optimal", current=p["current"], current_zones=p["current_zones"], band=0.1,
                     summary_href="summary.html", **kwargs)
    return fig.render()


def wiggly_coverage(n: int = 4, *, size_m: float = 500.0, step_m: float = 5.0) -> gpd.GeoSeries:
    """An n x n coverage in metres whose shared edges wiggle (many vertices, identical on both
    sides), made by polygonizing noded lines."""
    rng = np.random.default_rng(1)
    lines = []
    t = np.arange(0.0, n * size_m + step_m, step_m)
    for k in range(n + 1):
        wig = rng.normal(0, 1.5, len(t)) if 0 < k < n else np.zeros(len(t))
        lines.append(LineString(np.column_stack([t, k * size_m + wig])))
        lines.append(LineString(np.column_stack([k * size_m + wig, t])))
    polys = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.union_all(lines))))
    return gpd.GeoSeries(polys, crs="EPSG:32615").to_crs(4326)


# --- colours ------------------------------------------------------------------------------


def test_few_schools_get_distinct_okabe_ito_colours() -> None:
    ring = [("S1", "S2"), ("S2", "S3"), ("S3", "S4"), ("S4", "S1")]
    colours = zone_colours(["S3", "S1", "S2", "S4"], neighbours=ring)
    assert sorted(colours) == ["S1", "S2", "S3", "S4"]
    assert len(set(colours.values())) == 4 and set(colours.values()) <= set(OKABE_ITO)
    assert all(colour_distance(colours[a], colours[b]) >= CONFUSABLE_DELTA_E for a, b in ring)


def test_up_to_fifteen_schools_get_unique_colours() -> None:
    ids = [f"S{k:02d}" for k in range(len(PALETTE))]
    line = list(zip(ids[:-1], ids[1:], strict=True))
    colours = zone_colours(ids, neighbours=line)
    assert len(set(colours.values())) >= len(PALETTE) - 2
    assert len(set(zone_colours(ids[:10], neighbours=line[:9]).values())) == 10
    assert all(colour_distance(colours[a], colours[b]) >= CONFUSABLE_DELTA_E for a, b in line)


def test_colour_distance_sees_colour_blind_confusions() -> None:
    # sky blue and light blue differ to normal vision but merge for deuteranopes
    assert colour_distance("#56B4E9", "#77AADD") < CONFUSABLE_DELTA_E
    assert colour_distance("#0072B2", "#E69F00") > 40
    assert colour_distance("#123456", "#123456") == pytest.approx(0.0)


def test_neighbouring_zones_never_share_a_colour() -> None:
    ids = [f"S{r}{c}" for r in range(6) for c in range(6)]
    pairs = set()
    for r in range(6):
        for c in range(6):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):  # queen adjacency: corners touch too
                if 0 <= r + dr < 6 and 0 <= c + dc < 6:
                    pairs.add((f"S{r}{c}", f"S{r + dr}{c + dc}"))
    positions = {f"S{r}{c}": (c * 1000.0, r * 1000.0) for r in range(6) for c in range(6)}
    colours = zone_colours(ids, neighbours=pairs, positions=positions)
    assert set(colours) == set(ids)
    assert all(colours[a] != colours[b] for a, b in pairs)
    assert set(colours.values()) <= set(PALETTE)
    assert zone_colours(ids, neighbours=pairs, positions=positions) == colours  # deterministic
    assert all(colour_distance(colours[a], colours[b]) >= CONFUSABLE_DELTA_E for a, b in pairs)


def test_zone_neighbours_and_plan_colours_from_real_geometry(small: dict) -> None:
    units = small["units"]
    metric = units.geometry.to_crs(units.estimate_utm_crs())
    pairs = zone_neighbours(metric, small["plan"])
    assert pairs and all(a < b for a, b in pairs)
    colours = plan_colours(units, small["schools"], current=small["current"])
    assert all(colours[a] != colours[b] for a, b in pairs)


# --- geometry -----------------------------------------------------------------------------


def _shared_edges(geoms: np.ndarray) -> dict[tuple[int, int], float]:
    """Length in metres of the border shared by each pair of polygons (metric coordinates)."""
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    out = {}
    for i, j in zip(left, right, strict=True):
        if i < j:
            out[(int(i), int(j))] = float(shapely.intersection(geoms[i].boundary, geoms[j].boundary).length)
    return out


def assert_coverage_kept(before: gpd.GeoSeries, after: gpd.GeoSeries) -> None:
    """Same neighbours sharing a border, no gap (no new hole, same outline area), no overlap."""
    crs = before.estimate_utm_crs()
    b, a = before.to_crs(crs).to_numpy(), after.to_crs(crs).to_numpy()
    shared_b, shared_a = _shared_edges(b), _shared_edges(a)
    borders = {k for k, v in shared_b.items() if v > 1.0}
    assert borders, "the test coverage has no shared borders"
    for k in borders:
        assert shared_a.get(k, 0.0) > 0.5, f"neighbours {k} no longer share a border"
    union_b, union_a = shapely.union_all(b), shapely.union_all(a)
    holes = sum(len(p.interiors) for p in shapely.get_parts(union_a))
    assert holes == sum(len(p.interiors) for p in shapely.get_parts(union_b)), "simplification opened a gap"
    assert union_a.area == pytest.approx(sum(g.area for g in a), rel=1e-6), "simplified units overlap"
    assert union_a.area == pytest.approx(union_b.area, rel=1e-3)


def test_coverage_simplification_keeps_neighbours_without_gaps() -> None:
    units = wiggly_coverage()
    simple = simplify_coverage(units, tolerance_m=5.0)
    assert shapely.get_num_coordinates(simple.to_numpy()).sum() < 0.4 * shapely.get_num_coordinates(
        units.to_numpy()).sum()
    assert_coverage_kept(units, simple)
    rounded = gpd.GeoSeries(round_coordinates(simple, decimals=5), crs=4326)
    assert_coverage_kept(units, rounded)
    coords = shapely.get_coordinates(rounded.to_numpy())
    assert np.allclose(coords, np.round(coords, 5), atol=1e-12)


def test_coverage_simplification_of_cambridge_block_groups() -> None:
    path = shared_path("cambridge-ma", "derived", "cambridge_bg2010_acs2019.geojson")
    units = gpd.read_file(path).geometry
    simple = simplify_coverage(units, tolerance_m=3.0)
    assert shapely.get_num_coordinates(simple.to_numpy()).sum() < shapely.get_num_coordinates(
        units.to_numpy()).sum()
    assert_coverage_kept(units, simple)


def test_simplify_zero_tolerance_returns_input() -> None:
    units = wiggly_coverage(2)
    assert simplify_coverage(units, tolerance_m=0) is units


def test_simplify_rejects_negative_tolerance_and_missing_crs() -> None:
    units = wiggly_coverage(2)
    with pytest.raises(InputError, match=r"`simplify_m` must be >= 0 metres; found -1"):
        simplify_coverage(units, tolerance_m=-1)
    with pytest.raises(InputError, match="have no CRS; expected EPSG:4326"):
        simplify_coverage(gpd.GeoSeries(units.to_numpy()), tolerance_m=1)


# --- page content -------------------------------------------------------------------------


def test_offline_page_is_self_contained_and_deterministic(small: dict) -> None:
    text = render(small)
    assert "<script src" not in text and "<link " not in text
    css_urls = re.findall(r"url\(([^)]*)\)", text)
    assert css_urls and all(u.strip("'\"").startswith(("data:", "#")) for u in css_urls)
    js, _, version = leaflet_assets()
    assert js.strip()[-200:] in text and "sourceMappingURL" not in text
    assert version.startswith("1.")
    assert "Street basemap (needs internet)" in text
    assert re.search(r"tile_layer_basemap_proposed\.addTo", text) is None  # basemap off offline
    assert render(small) == text  # byte-stable


def test_online_page_loads_leaflet_from_cdn_and_shows_basemap(small: dict) -> None:
    text = render(small, offline=False)
    assert re.search(r'<script src="https://[^"]+/leaflet\.js">', text)
    assert re.search(r'<link rel="stylesheet" href="https://[^"]+/leaflet\.css"', text)
    assert re.search(r"tile_layer_basemap_proposed\s*\.addTo\(\s*map_proposed", text)
    assert "jquery" not in text.lower() and "bootstrap" not in text.lower()


def test_page_data_describes_every_unit_zone_and_school(small: dict) -> None:
    text = render(small)
    data = page_data(text)
    units, plan, current = small["units"], small["plan"], small["current"]
    assert len(data["units"]["features"]) == len(units)
    props = {f["properties"]["g"]: f["properties"] for f in data["units"]["features"]}
    for g, p in props.items():
        assert p["s"] == plan[g]
        assert p["c"] == (current.get(g) if isinstance(current.get(g), str) else None)
        assert p["x"] == int(p["c"] is not None and p["c"] != p["s"])
        assert p["n"] == pytest.approx(units.at[g, "students"], abs=0.05)
    assert sorted(f["properties"]["s"] for f in data["zones"]["features"]) == sorted(set(plan))
    assert sorted(f["properties"]["s"] for f in data["currentZones"]["features"]) == sorted(
        small["current_zones"]["school_id"])
    schools = small["schools"]
    assert [s["id"] for s in data["schools"]] == list(schools.index)
    first = data["schools"][0]
    t = small["table"].loc[first["id"]]
    for text_part in (schools.loc[first["id"], "name"], "Capacity", f"{t['capacity']:,}", "Utilization",
                      "Low-income share", "vs district", "mean", "max"):
        assert text_part in first["popup"]
    assert "Current zone" in first["popupCurrent"]
    assert data["title"] == "Test district"
    for words in ("Test district", "Solver", "optimal", "Dissimilarity", "Students reassigned",
                  "Schools and zones", "Current vs proposed", "Printable summary"):
        assert words in text
    n_changed = sum(p["x"] for p in props.values())
    assert f"{n_changed} units change school" in text


def test_map_without_current_has_no_side_by_side(small: dict) -> None:
    fig = render_map(small["units"], small["zones"], small["schools"], small["table"], small["district"],
                     title="No current")
    text = fig.render()
    assert 'id="map_current"' not in text and 'id="zs-view-side"' not in text
    data = page_data(text)
    assert data["hasCurrent"] is False and data["currentZones"] is None
    assert all("x" not in f["properties"] for f in data["units"]["features"])


def test_thousand_unit_map_is_under_three_megabytes(large: dict) -> None:
    text = render(large)
    size = len(text.encode("utf-8"))
    assert size <= 3 * MB, f"{size} bytes"
    assert len(page_data(text)["units"]["features"]) == 1000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.update(units=p["units"].drop(columns="travel_time_s")),
         r"`units` has no column\(s\) \['travel_time_s'\]; found \["),
        (lambda p: p.update(units=p["units"].iloc[:0]), "`units` is empty"),
        (lambda p: p.update(units=gpd.GeoDataFrame(p["units"].drop(columns="geometry"),
                                                   geometry=p["units"].geometry.to_numpy(), crs=None)),
         "`units` has no CRS; expected EPSG:4326"),
        (lambda p: p.update(schools=p["schools"].iloc[1:]),
         r"units are assigned to schools not in `schools`: \['S01'\]"),
        (lambda p: p.update(zones=p["zones"].iloc[1:]), r"`zones` has no row for school\(s\) \['S01'\]"),
        (lambda p: p.update(table=p["table"].iloc[1:]), r"`table` has no row for school\(s\) \['S01'\]"),
        (lambda p: p.update(current=p["current"].replace("S02", "S99")),
         r"`current` names schools not in `schools`: \['S99'\]"),
        (lambda p: p.update(schools=p["schools"].set_crs(None, allow_override=True)),
         "`schools` has no CRS; expected EPSG:4326"),
        (lambda p: p.update(schools=p["schools"].set_geometry(
            shapely.buffer(p["schools"].geometry.to_numpy(), 0.001))),
         r"`schools` must be points; found other geometry for \['S01', 'S02'"),
        (lambda p: p.update(schools=p["schools"].drop(columns="capacity")),
         "`schools` has no column `capacity`"),
    ],
)
def test_bad_map_input_is_named(small: dict, change, message: str) -> None:
    p = dict(small)
    change(p)
    with pytest.raises(InputError, match=message):
        render(p)
    with pytest.raises(InputError, match=message):
        render_summary(p["units"], p["zones"], p["schools"], p["table"], p["district"], title="x",
                       current=p["current"])


def test_missing_leaflet_package_is_explained(small: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xstatic.pkg.leaflet", None)
    with pytest.raises(MapAssetError, match=r"`xstatic-leaflet` package, which is not installed; install it"):
        render(small)
    render(small, offline=False)  # an online map does not need it


def test_broken_leaflet_package_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xstatic.pkg import leaflet as xleaflet

    monkeypatch.setattr(xleaflet, "BASE_DIR", str(tmp_path))
    with pytest.raises(MapAssetError, match=r"leaflet\.js` is missing from the xstatic-leaflet package"):
        leaflet_assets()
    (tmp_path / "leaflet.js").write_text("window.L = {};")
    (tmp_path / "leaflet.css").write_text(".a { background: url(images/gone.png); }")
    with pytest.raises(MapAssetError, match=r"refers to `images/gone.png`, which is not in"):
        leaflet_assets()


# --- pipeline and CLI ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed demo district solved through the pipeline and saved; returns the folder.

    Contiguity is off and a 1 % gap accepted so the solve takes seconds: the map does not
    depend on which plan it shows.
    """
    sc = load_scenario(DEMO / "scenario.toml")
    sc = sc.replace(policy={"contiguity": False}, solver={"time_limit_s": 60.0, "gap": 0.01})
    result = solve(load_inputs(sc))
    folder = tmp_path_factory.mktemp("demo") / "plan"
    save_plan(result, folder)
    return folder


def test_save_plan_writes_the_output_contract_with_map_and_summary(demo_plan: Path) -> None:
    names = {p.name for p in demo_plan.iterdir()}
    assert {"units.geojson", "zones.geojson", "assignment.csv", "metrics.json", "map.html",
            "summary.html"} <= names
    text = (demo_plan / "map.html").read_text(encoding="utf-8")
    data = page_data(text)
    assert len(data["units"]["features"]) == 300
    assert data["title"] == "demo" and "<title>demo</title>" in text
    assert "road network" in text or "drive" in text  # the travel-time method is stated
    assert any("ct" in f["properties"] for f in data["units"]["features"])  # today's travel time
    summary = (demo_plan / "summary.html").read_text(encoding="utf-8")
    assert "<script" not in summary and "<svg" in summary and 'href="map.html"' in summary
    assert summary.count("<tr>") == 10 + 1


def test_cli_online_and_offline_flags(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        f'name = "flags"\n[units]\npath = "{DEMO / "units.geojson"}"\n'
        f'[schools]\npath = "{DEMO / "schools.geojson"}"\n'
        "[policy]\nmax_utilization = 1.3\nband = 0.3\ncontiguity = false\n[solver]\ntime_limit_s = 60\n"
        "[output]\noffline = false\n",
        encoding="utf-8",
    )
    assert main(["plan", str(scenario), "--out", str(tmp_path / "online")]) == 0
    assert '<script src="https://' in (tmp_path / "online" / "map.html").read_text(encoding="utf-8")
    assert main(["plan", str(scenario), "--out", str(tmp_path / "offline"), "--offline"]) == 0
    assert "<script src=" not in (tmp_path / "offline" / "map.html").read_text(encoding="utf-8")
    assert main(["plan", str(scenario), "--out", str(tmp_path / "online2"), "--online"]) == 0
    assert '<script src="https://' in (tmp_path / "online2" / "map.html").read_text(encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["plan", str(scenario), "--offline", "--online"])


# --- in Chromium --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module; skips without it, except in CI where it must run."""
    if chromium_path() is None:
        reason = "headless Chromium not found at /usr/bin/chromium (install Debian's `chromium`)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must install it so the map tests run")
        pytest.skip(reason)
    with Browser.launch() as b:
        yield b


def _marker_point(page, map_key: str, school_id: str) -> tuple[float, float]:
    return tuple(page.evaluate(
        f"""(() => {{
            const map = zoning.maps[{json.dumps(map_key)}];
            const m = zoning.layers[{json.dumps(map_key)}].schools.getLayers()
                .find(l => l.schoolId === {json.dumps(school_id)});
            const p = map.latLngToContainerPoint(m.getLatLng());
            const r = map.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }})()"""
    ))


def _point_of(page, map_key: str, lon: float, lat: float) -> tuple[float, float]:
    return tuple(page.evaluate(
        f"""(() => {{
            const map = zoning.maps[{json.dumps(map_key)}];
            const p = map.latLngToContainerPoint([{lat}, {lon}]);
            const r = map.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }})()"""
    ))


@pytest.mark.browser
def test_demo_map_offline_in_chromium(browser, demo_plan: Path) -> None:
    page = browser.open(demo_plan / "map.html", width=1400, height=900)
    page.settle(0.3)
    assert page.errors == []
    assert page.requests == []
    data = page_data((demo_plan / "map.html").read_text(encoding="utf-8"))
    drawn = page.evaluate(
        """(() => {
            const L = zoning.layers.proposed;
            const ok = l => l._path && l._path.isConnected && (l._path.getAttribute('d') || '').length > 10;
            return {zones: L.zones.getLayers().filter(ok).length,
                    units: L.units.getLayers().filter(ok).length,
                    paths: document.querySelectorAll('#map_proposed .leaflet-overlay-pane path').length,
                    schools: L.schools.getLayers().length,
                    legend: document.querySelector('.zs-legend').innerText,
                    title: document.title};
        })()"""
    )
    assert drawn["zones"] == len(data["zones"]["features"]) == len(set(f["properties"]["s"]
                                                                      for f in data["units"]["features"]))
    assert drawn["units"] == 300
    assert drawn["paths"] >= 300 + drawn["zones"]
    assert drawn["schools"] == 10
    assert "Schools and zones" in drawn["legend"] and drawn["title"] == "demo"
    page.screenshot(ARTIFACTS / "demo-map.png")

    # a real click on a school opens its popup
    sid = data["schools"][0]["id"]
    x, y = _marker_point(page, "proposed", sid)
    page.click(x, y)
    page.settle(0.4)
    popup = page.evaluate("(() => { const p = document.querySelector('.leaflet-popup-content');"
                          " return p ? p.innerText : null; })()")
    assert popup is not None, "no popup opened"
    assert data["schools"][0]["name"] in popup and "Capacity" in popup and "Utilization" in popup
    page.screenshot(ARTIFACTS / "demo-map-popup.png")

    # hovering a unit that changes school shows its tooltip
    changed = [f for f in data["units"]["features"] if f["properties"].get("x") == 1]
    assert changed, "the demo plan moves no unit"
    feature = max(changed, key=lambda f: shapely.geometry.shape(f["geometry"]).area)
    pt = shapely.geometry.shape(feature["geometry"]).representative_point()
    page.evaluate("zoning.maps.proposed.closePopup(); null")
    hx, hy = _point_of(page, "proposed", pt.x, pt.y)
    page.hover(hx, hy)
    page.settle(0.3)
    tip = page.evaluate("(() => { const t = document.querySelector('#map_proposed .leaflet-tooltip');"
                        " return t ? t.innerText : null; })()")
    assert tip is not None and feature["properties"]["g"] in tip and "Changes school" in tip
    assert "Current school" in tip and "Travel time" in tip
    assert page.errors == [] and page.requests == []
    page.close()


@pytest.mark.browser
def test_side_by_side_view_in_chromium(browser, demo_plan: Path) -> None:
    page = browser.open(demo_plan / "map.html", width=1400, height=900)
    box = page.evaluate("(() => { const r = document.getElementById('zs-view-side').getBoundingClientRect();"
                        " return [r.left + r.width / 2, r.top + r.height / 2]; })()")
    page.click(*box)
    page.settle(0.4)
    state = page.evaluate(
        """(() => {
            const c = document.getElementById('map_current').getBoundingClientRect();
            const p = document.getElementById('map_proposed').getBoundingClientRect();
            return {side: document.body.classList.contains('zs-side'),
                    visible: getComputedStyle(document.getElementById('map_current')).visibility,
                    currentRight: c.right, proposedLeft: p.left, width: window.innerWidth,
                    currentUnits: zoning.layers.current.units.getLayers().filter(l => l._path).length};
        })()"""
    )
    assert state["side"] and state["visible"] == "visible"
    assert state["currentRight"] <= state["proposedLeft"] + 1
    assert state["proposedLeft"] == pytest.approx(700, abs=2)
    assert state["currentUnits"] == 300
    page.screenshot(ARTIFACTS / "demo-map-side-by-side.png")
    page.evaluate("zoning.maps.proposed.setZoom(zoning.maps.proposed.getZoom() + 1, {animate: false}); null")
    page.settle(0.3)
    zooms = page.evaluate("[zoning.maps.proposed.getZoom(), zoning.maps.current.getZoom()]")
    assert zooms[0] == zooms[1], "the two maps are not in step"
    centres = page.evaluate("[zoning.maps.proposed.getCenter(), zoning.maps.current.getCenter()]"
                            ".map(c => [c.lat, c.lng])")
    assert centres[0] == pytest.approx(centres[1], abs=1e-6)
    assert page.errors == [] and page.requests == []
    page.close()


@pytest.mark.browser
def test_thousand_unit_map_loads_fast_in_chromium(browser, large: dict, tmp_path: Path) -> None:
    path = tmp_path / "map.html"
    path.write_text(render(large), encoding="utf-8")
    assert path.stat().st_size <= 3 * MB
    page = browser.open(path, width=1400, height=900)
    page.settle(0.2)
    nav = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
    assert page.errors == [] and page.requests == []
    assert page.load_s <= 2.0, f"load took {page.load_s:.2f} s"
    assert nav["loadEventEnd"] / 1000 <= 2.0
    n = page.evaluate("zoning.layers.proposed.units.getLayers().filter(l => l._path).length")
    assert n == 1000
    page.screenshot(ARTIFACTS / "map-1000-units.png")
    page.close()


def _one_page_pdf(browser, path: Path, artifact: str) -> None:
    page = browser.open(path, width=900, height=1200)
    assert page.errors == [] and page.requests == []
    fits = page.evaluate(
        """(() => { const p = document.querySelector('.page'), t = document.querySelector('.tables');
            return {tableWidth: t.scrollWidth, pageWidth: p.clientWidth,
                    contentBottom: Math.max(...[...p.children].map(c => c.getBoundingClientRect().bottom)),
                    pageBottom: p.getBoundingClientRect().bottom}; })()"""
    )
    assert fits["tableWidth"] <= fits["pageWidth"], "the school table is wider than the page"
    assert fits["contentBottom"] <= fits["pageBottom"] + 1, "the summary overflows its page"
    page.screenshot(ARTIFACTS / f"{artifact}.png")
    pdf = page.pdf(ARTIFACTS / f"{artifact}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    page.close()


@pytest.mark.browser
def test_demo_summary_prints_on_one_page(browser, demo_plan: Path) -> None:
    _one_page_pdf(browser, demo_plan / "summary.html", "demo-summary")


@pytest.mark.browser
def test_sixty_school_summary_prints_on_one_page(browser, tmp_path: Path) -> None:
    p = nearest_school_plan(600, 60, 5)
    text = render_summary(p["units"], p["zones"], p["schools"], p["table"], p["district"], title="Sixty",
                          status="optimal", current=p["current"], band=0.1, max_utilization=1.0)
    path = tmp_path / "summary.html"
    path.write_text(text, encoding="utf-8")
    _one_page_pdf(browser, path, "summary-60-schools")


ELEMENTARY = ["Amigos", "Baldwin", "Cambridgeport", "Fletcher Maynard", "Graham and Parks", "Haggerty",
              "King Open", "Martin Luther King", "Morse", "Peabody", "Tobin"]


@pytest.mark.browser
@pytest.mark.shared_data
def test_cambridge_map_in_chromium(browser, tmp_path: Path) -> None:
    """Real geometry: Cambridge's 88 block groups and its 11 JK-5 school sites, nearest-school plan.

    Students and low-income counts come from the ACS fields (children estimated as 8 % of the
    population; low-income share = households under $50k); capacities are an equal share of the
    students, since only the map is tested here.
    """
    bg = gpd.read_file(shared_path("cambridge-ma", "derived", "cambridge_bg2010_acs2019.geojson"))
    sites = gpd.read_file(shared_path("cambridge-ma", "raw", "LANDMARK_PublicSchools.geojson"))
    units = bg.assign(geoid=bg["GEOID10"].astype(str)).set_index("geoid")
    units["students"] = (units["pop"] * 0.08).round(1)
    units["low_income"] = (units["students"] * units["li50pct"].fillna(0)).round(1)
    keep = [n for n in sites["SITE_NAME"] if any(n.startswith(e) for e in ELEMENTARY)]
    assert len(keep) == 11
    schools = sites[sites["SITE_NAME"].isin(keep)].reset_index(drop=True)
    schools = gpd.GeoDataFrame(
        {"name": schools["SITE_NAME"].to_numpy(), "capacity": int(units["students"].sum() / 11 * 1.1)},
        geometry=schools.geometry.to_numpy(), crs=4326,
        index=[f"E{k:02d}" for k in range(1, 12)],
    ).rename_axis("school_id")
    tt = compute_straight_line(units, schools).seconds
    plan = tt.idxmin(axis=1).rename("school_id")
    st, li, cap = units["students"], units["low_income"], schools["capacity"]
    table = zone_table(plan, st, li, cap, tt, names=schools["name"])
    district = district_metrics(plan, st, li, cap, tt, band=0.1)
    layer = units[["students", "low_income", "geometry"]].copy()
    layer.insert(0, "school_id", plan)
    layer["travel_time_s"] = [tt.at[u, s] for u, s in plan.items()]
    fig = render_map(layer, zone_geometries(units, plan), schools, table, district, title="Cambridge test",
                     status="nearest school (not solved)", band=0.1)
    path = tmp_path / "cambridge.html"
    path.write_text(fig.render(), encoding="utf-8")
    page = browser.open(path, width=1200, height=900)
    page.settle(0.3)
    assert page.errors == [] and page.requests == []
    counts = page.evaluate(
        "[zoning.layers.proposed.units.getLayers().filter(l => l._path).length,"
        " zoning.layers.proposed.zones.getLayers().filter(l => l._path).length]"
    )
    assert counts == [88, len(set(plan))]
    page.screenshot(ARTIFACTS / "cambridge-map.png")
    page.close()
