"""Travel-time matrix: known answers, parallel edges, direction, snapping, errors, caches, real data."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
from overpass_standin import OverpassStandIn
from shapely.geometry import Point, box

from zoning import settings, traveltime
from zoning.errors import InfeasibleError, InputError
from zoning.network import load_graph
from zoning.traveltime import (
    STRAIGHT_LINE,
    build_road_arrays,
    compute_straight_line,
    compute_travel_times,
    weighted_points,
)

LAT0, LON0 = 40.0, -95.0
M_PER_DEG_LAT = 111_320.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))


def lonlat(east_m: float, north_m: float) -> tuple[float, float]:
    return LON0 + east_m / M_PER_DEG_LON, LAT0 + north_m / M_PER_DEG_LAT


def square(east_m: float, north_m: float, half_m: float = 50.0) -> object:
    x0, y0 = lonlat(east_m - half_m, north_m - half_m)
    x1, y1 = lonlat(east_m + half_m, north_m + half_m)
    return box(x0, y0, x1, y1)


# A: (0, 0), B: (1000, 0), C: (2000, 0), D: (1000, 1000), metres east/north. Times in seconds:
# A->B 100 and a parallel A->B 300 (the minimum counts, a sum would give 400); B->A 100;
# B->C 50 (one-way); C->D 70; D->B 40; B->D 60. E-F: a separate two-way piece 3 km east.
POSITIONS = {"A": (0, 0), "B": (1000, 0), "C": (2000, 0), "D": (1000, 1000), "E": (5000, 0), "F": (5200, 0)}


def toy_roads() -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs="EPSG:4326", zoning_source="toy", zoning_mode="drive")
    for n, (e, north) in POSITIONS.items():
        x, y = lonlat(e, north)
        G.add_node(n, x=x, y=y)
    for u, v, t in [("A", "B", 100.0), ("A", "B", 300.0), ("B", "A", 100.0), ("B", "C", 50.0),
                    ("C", "D", 70.0), ("D", "B", 40.0), ("B", "D", 60.0), ("E", "F", 20.0), ("F", "E", 20.0)]:
        G.add_edge(u, v, travel_time=t, length=t * 10)
    return G


def units_at(**where: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[square(*p) for p in where.values()],
                            index=pd.Index(list(where), name="geoid"), crs="EPSG:4326")


def schools_at(**where: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": list(where)}, geometry=[Point(lonlat(*p)) for p in where.values()],
                            index=pd.Index(list(where), name="school_id"), crs="EPSG:4326")


# --------------------------------------------------------------------------- known answers


def test_known_times_take_the_minimum_parallel_edge_and_the_unit_to_school_direction() -> None:
    units = units_at(uA=POSITIONS["A"], uD=POSITIONS["D"])
    schools = schools_at(sC=POSITIONS["C"], sA=POSITIONS["A"])
    tt = compute_travel_times(units, schools, toy_roads())
    expected = pd.DataFrame({"sC": [150.0, 90.0], "sA": [0.0, 140.0]}, index=units.index)
    pd.testing.assert_frame_equal(tt.seconds, expected, check_names=False, atol=1e-6)
    # D -> A is 140 s (D-B-A); A -> D would be 160 s (A-B-D): the matrix is unit -> school
    assert tt.unit_node.to_dict() == {"uA": "A", "uD": "D"}
    assert tt.school_node.to_dict() == {"sC": "C", "sA": "A"}
    assert tt.method == "road network (drive) from toy"
    assert not tt.is_straight_line
    assert list(tt.seconds.index) == ["uA", "uD"] and list(tt.seconds.columns) == ["sC", "sA"]


def test_sparse_matrix_keeps_the_smallest_of_parallel_edges() -> None:
    arrays = build_road_arrays(toy_roads())
    a, b = arrays.nodes.index("A"), arrays.nodes.index("B")
    assert arrays.matrix[a, b] == 100.0  # not 400 (the sum) nor 300


def test_lengths_can_be_minimised_instead_of_time() -> None:
    units = units_at(uA=POSITIONS["A"])
    schools = schools_at(sC=POSITIONS["C"])
    tt = compute_travel_times(units, schools, toy_roads(), weight="length")
    assert tt.seconds.iloc[0, 0] == pytest.approx(1500.0)
    assert tt.method.endswith("weight length")


def test_two_schools_on_one_node_and_point_geometries() -> None:
    units = gpd.GeoDataFrame(geometry=[Point(lonlat(990, 990))], index=["u"], crs="EPSG:4326")
    schools = schools_at(s1=POSITIONS["C"], s2=(2010, 5))
    tt = compute_travel_times(units, schools, toy_roads())
    assert tt.seconds.loc["u"].tolist() == [pytest.approx(90.0), pytest.approx(90.0)]


# --------------------------------------------------------------------------- snapping


def test_far_units_are_listed_in_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    units = units_at(near=POSITIONS["B"], far=(1000, 1900))  # 900 m north of D
    schools = schools_at(s=POSITIONS["A"])
    with caplog.at_level(logging.WARNING, logger="zoning.traveltime"):
        tt = compute_travel_times(units, schools, toy_roads(), max_snap_m=500)
    assert "1 units/schools lie farther than 500 m" in caplog.text
    assert "unit 'far' 8" in caplog.text  # 850-900 m
    far = tt.far_snaps(500)
    assert far["id"].tolist() == ["far"] and far["kind"].tolist() == ["unit"]
    assert 800 < far["snap_m"].iloc[0] < 950
    assert tt.unit_snap_m["near"] < 75
    assert tt.far_snaps(2000).empty


def test_units_outside_the_network_are_an_error_naming_them() -> None:
    units = units_at(inside=POSITIONS["B"], lost=(1000, 30_000))
    schools = schools_at(s=POSITIONS["A"], gone=(-20_000, 0))
    match = r"does not cover 2 units/schools.*unit 'lost' 2\d,\d{3} m.*school 'gone'"
    with pytest.raises(InputError, match=match):
        compute_travel_times(units, schools, toy_roads())
    tt = compute_travel_times(units, schools, toy_roads(), max_snap_error_m=math.inf)
    assert np.isfinite(tt.seconds.to_numpy()).all()


def test_separate_road_pieces_join_the_main_component_by_default(caplog: pytest.LogCaptureFixture) -> None:
    units = units_at(island=POSITIONS["E"], main=POSITIONS["A"])
    schools = schools_at(s=POSITIONS["C"])
    with caplog.at_level(logging.WARNING, logger="zoning.traveltime"):
        tt = compute_travel_times(units, schools, toy_roads())
    assert tt.unit_node["island"] == "C"  # nearest node of the largest strongly connected part
    assert tt.unit_snap_m["island"] > 2900
    assert "unit 'island'" in caplog.text


def test_units_that_cannot_reach_a_school_are_named_never_infinite() -> None:
    units = units_at(island=POSITIONS["E"], main=POSITIONS["A"])
    schools = schools_at(s1=POSITIONS["C"], s2=POSITIONS["D"])
    with pytest.raises(InfeasibleError, match=r"1 units cannot reach every school.*unit 'island' cannot reach"
                                              r" \['s1', 's2'\]") as info:
        compute_travel_times(units, schools, toy_roads(), snap="nearest_node")
    assert info.value.diagnosis == ["unit 'island' cannot reach ['s1', 's2']"]


def test_bad_options_and_points_are_errors() -> None:
    units = units_at(u=POSITIONS["A"])
    schools = schools_at(s=POSITIONS["C"])
    with pytest.raises(InputError, match=r"`snap` must be one of \['largest_component', 'nearest_node'\]"):
        compute_travel_times(units, schools, toy_roads(), snap="closest")
    points = gpd.GeoSeries([Point(lonlat(0, 0))], index=["other"], crs="EPSG:4326")
    with pytest.raises(InputError, match="one point per unit, indexed like the units"):
        compute_travel_times(units, schools, toy_roads(), unit_points=points)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda G: G.edges["A", "B", 0].update(travel_time=float("nan")), r"1 road graph edges have no"),
        (lambda G: G.edges["B", "C", 0].update(travel_time=-5.0), r"1 road graph edges have no usable"),
        (lambda G: G.edges["B", "C", 0].pop("travel_time"), r"e\.g\. \[\('B', 'C', None\)\]"),
        (lambda G: G.graph.pop("crs"), "has no `crs` graph attribute"),
        (lambda G: G.remove_edges_from(list(G.edges)), "the road graph has no edges"),
        (lambda G: G.clear(), "the road graph has no nodes"),
    ],
)
def test_bad_graphs_are_errors(change, match: str) -> None:
    G = toy_roads()
    change(G)
    with pytest.raises(InputError, match=match):
        compute_travel_times(units_at(u=POSITIONS["A"]), schools_at(s=POSITIONS["C"]), G)


# --------------------------------------------------------------------------- straight line


def test_straight_line_fallback_is_named_as_such() -> None:
    units = units_at(u=(0, 0))
    schools = schools_at(s=(3000, 4000))
    tt = compute_straight_line(units, schools, circuity=1.2, speed_kph=36.0,
                               unit_points=gpd.GeoSeries([Point(lonlat(0, 0))], index=units.index,
                                                         crs="EPSG:4326"))
    assert tt.is_straight_line
    assert tt.method == f"{STRAIGHT_LINE}: distance x 1.2 circuity at 36 km/h"
    assert tt.seconds.iloc[0, 0] == pytest.approx(5000 * 1.2 / 10.0, rel=5e-3)
    assert tt.unit_node is None and tt.far_snaps().empty
    with pytest.raises(InputError, match="circuity >= 1 and speed_kph > 0"):
        compute_straight_line(units, schools, circuity=0.5)


# --------------------------------------------------------------------------- weighted points


def test_weighted_points_follow_the_people() -> None:
    units = units_at(a=(0, 0), b=(1000, 0), c=(2000, 0))
    fine = gpd.GeoDataFrame(
        {"pop": [30, 10, 5, 0]},
        geometry=[Point(lonlat(e, n)) for e, n in [(-40, 0), (40, 0), (1000, 30), (2000, 0)]],
        crs="EPSG:4326",
    )
    pts = weighted_points(units, fine, weight="pop")
    x, _ = lonlat(-20, 0)  # (30 * -40 + 10 * 40) / 40 = -20 m
    assert pts["a"].x == pytest.approx(x, abs=1e-7)
    assert pts["b"].y == pytest.approx(lonlat(0, 30)[1], abs=1e-7)
    assert pts["c"].equals(units.geometry.representative_point()["c"])  # no weight: representative point


def test_weighted_mean_outside_a_crescent_unit_falls_back_to_the_heaviest_point() -> None:
    ring = square(0, 0, 200).difference(square(0, 0, 150))
    units = gpd.GeoDataFrame(geometry=[ring], index=["ring"], crs="EPSG:4326")
    fine = gpd.GeoDataFrame({"pop": [10, 11]}, geometry=[Point(lonlat(-175, 0)), Point(lonlat(175, 0))],
                            crs="EPSG:4326")
    pts = weighted_points(units, fine, weight="pop")
    assert pts["ring"].x == pytest.approx(lonlat(175, 0)[0])


def test_weighted_points_errors() -> None:
    units = units_at(a=(0, 0))
    fine = gpd.GeoDataFrame({"pop": [-1]}, geometry=[Point(lonlat(0, 0))], crs="EPSG:4326")
    with pytest.raises(InputError, match=r"no column `people`; found \['pop'\]"):
        weighted_points(units, fine, weight="people")
    with pytest.raises(InputError, match=r"column `pop` must hold numbers >= 0; rows \[0\]"):
        weighted_points(units, fine, weight="pop")


# --------------------------------------------------------------------------- cache


def test_matrix_cache_is_reused_and_keyed_by_its_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    G = toy_roads()
    units = units_at(uA=POSITIONS["A"], uD=POSITIONS["D"])
    schools = schools_at(sC=POSITIONS["C"], sA=POSITIONS["A"])
    first = compute_travel_times(units, schools, G, cache_folder=tmp_path)
    files = list((tmp_path / "travel_times").glob("*.npz"))
    assert len(files) == 1

    def no_dijkstra(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(traveltime, "dijkstra", no_dijkstra)
    again = compute_travel_times(units, schools, G, cache_folder=tmp_path)
    pd.testing.assert_frame_equal(first.seconds, again.seconds)
    assert again.method == first.method
    assert again.unit_node.to_dict() == first.unit_node.to_dict()
    pd.testing.assert_series_equal(first.school_snap_m, again.school_snap_m)
    monkeypatch.undo()
    G.edges["B", "C", 0]["travel_time"] = 55.0  # a changed graph is a new key
    changed = compute_travel_times(units, schools, G, cache_folder=tmp_path)
    assert changed.seconds.loc["uA", "sC"] == pytest.approx(155.0)
    compute_travel_times(units_at(uA=(10, 0), uD=POSITIONS["D"]), schools, G, cache_folder=tmp_path)
    assert len(list((tmp_path / "travel_times").glob("*.npz"))) == 3
    plain = units.reset_index(drop=True)  # ids that are not strings come back as they went in
    fresh = compute_travel_times(plain, schools, G, cache_folder=tmp_path)
    cached = compute_travel_times(plain, schools, G, cache_folder=tmp_path)
    pd.testing.assert_frame_equal(fresh.seconds, cached.seconds)


def test_damaged_matrix_cache_is_recomputed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    units = units_at(uA=POSITIONS["A"])
    schools = schools_at(sC=POSITIONS["C"])
    compute_travel_times(units, schools, toy_roads(), cache_folder=tmp_path)
    (cache,) = (tmp_path / "travel_times").glob("*.npz")
    cache.write_bytes(b"PK\x03\x04 broken")
    with caplog.at_level(logging.WARNING, logger="zoning.traveltime"):
        tt = compute_travel_times(units, schools, toy_roads(), cache_folder=tmp_path)
    assert "travel-time cache" in caplog.text and "unreadable" in caplog.text
    assert tt.seconds.iloc[0, 0] == pytest.approx(150.0)


# --------------------------------------------------------------------------- real data


def _random_points(G: nx.MultiDiGraph, n: int, prefix: str, rng: np.random.Generator) -> gpd.GeoDataFrame:
    xs = [d["x"] for _, d in G.nodes(data=True)]
    ys = [d["y"] for _, d in G.nodes(data=True)]
    lon = rng.uniform(min(xs), max(xs), n)
    lat = rng.uniform(min(ys), max(ys), n)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), index=[f"{prefix}{i}" for i in range(n)],
                            crs="EPSG:4326")


@pytest.mark.shared_data
def test_reno_matrix_equals_networkx_shortest_paths(shared_file) -> None:
    G = load_graph(shared_file("reno-nv-osm/reno_east3.osm"))
    rng = np.random.default_rng(5)
    units = _random_points(G, 40, "u", rng)
    schools = _random_points(G, 6, "s", rng)
    tt = compute_travel_times(units, schools, G)
    assert tt.seconds.shape == (40, 6) and np.isfinite(tt.seconds.to_numpy()).all()
    for u in units.index[:12]:
        for s in schools.index:
            ref = nx.shortest_path_length(G, tt.unit_node[u], tt.school_node[s], weight="travel_time")
            assert tt.seconds.at[u, s] == pytest.approx(ref, abs=1e-6)
    assert tt.method == "road network (drive) from reno_east3.osm"


@pytest.mark.shared_data
def test_cambridge_block_groups_to_schools_over_the_city_graph(shared_file) -> None:
    G = load_graph(shared_file("cambridge-ma/derived/cambridge_centerlines_drive.graphml"))
    units = gpd.read_file(shared_file("cambridge-ma/derived/cambridge_bg2010_acs2019.geojson"))
    units = units.set_index(units["GEOID10"].astype(str).rename("geoid"))
    schools = gpd.read_file(shared_file("cambridge-ma/raw/LANDMARK_PublicSchools.geojson"))
    schools = schools.set_index(pd.Index([f"S{i:02d}" for i in range(len(schools))], name="school_id"))
    tt = compute_travel_times(units, schools, G)
    m = tt.seconds.to_numpy()
    assert m.shape == (88, 18) and np.isfinite(m).all()
    assert 60 < np.median(m) < 900  # a city 6 km across: minutes, not hours
    assert tt.far_snaps().empty  # every block group and school lies within 500 m of a street


@pytest.mark.shared_data
def test_west_oakland_walking_is_slower_than_driving(shared_file) -> None:
    path = shared_file("osm-small/West-Oakland.osm.bz2")
    drive, walk = load_graph(path, mode="drive"), load_graph(path, mode="walk")
    units = gpd.GeoDataFrame(geometry=[Point(-122.3005, 37.8060)], index=["u"], crs="EPSG:4326")
    schools = gpd.GeoDataFrame(geometry=[Point(-122.2980, 37.8080)], index=["s"], crs="EPSG:4326")
    t_drive = compute_travel_times(units, schools, drive).seconds.iloc[0, 0]
    t_walk = compute_travel_times(units, schools, walk).seconds.iloc[0, 0]
    assert 0 < t_drive < t_walk


# --------------------------------------------------------------------------- through the pipeline


@pytest.fixture
def district(tmp_path: Path) -> Path:
    from zoning.synthetic import make_district, save_district

    folder = tmp_path / "district"
    save_district(make_district(n_units=30, n_schools=3, seed=3, name="Testville"), folder)
    return folder


def _scenario(folder: Path, network: dict[str, object]) -> object:
    from zoning.scenario import scenario_from_dict

    data = {"name": "roads", "units": {"path": "units.geojson"}, "schools": {"path": "schools.geojson"},
            "network": network, "policy": {"band": 0.5, "max_utilization": 2.0}}
    return scenario_from_dict(data, base_dir=folder)


def test_pipeline_reads_roads_once_then_from_the_cache(district: Path, _private_cache: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from zoning import network, pipeline

    inputs = pipeline.load_inputs(_scenario(district, {"path": "roads.osm"}))
    assert inputs.travel.method == "road network (drive) from roads.osm"
    assert np.isfinite(inputs.travel.seconds.to_numpy()).all()
    assert list((_private_cache / "graphs").glob("*.pickle"))
    assert list((_private_cache / "travel_times").glob("*.npz"))
    monkeypatch.setattr(network, "load_osm", lambda *a, **k: pytest.fail("graph cache not used"))
    monkeypatch.setattr(traveltime, "dijkstra", lambda *a, **k: pytest.fail("matrix cache not used"))
    again = pipeline.load_inputs(_scenario(district, {"path": "roads.osm"}))
    pd.testing.assert_frame_equal(inputs.travel.seconds, again.travel.seconds)


def test_pipeline_without_cache_writes_no_cache(district: Path, _private_cache: Path) -> None:
    from zoning import pipeline

    pipeline.load_inputs(_scenario(district, {"path": "roads.osm", "cache": False, "mode": "walk"}))
    assert not any(_private_cache.iterdir())


def test_pipeline_downloads_the_district_roads(district: Path, _private_cache: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from zoning import pipeline

    with OverpassStandIn(district / "roads.osm") as server:
        monkeypatch.setattr(ox.settings, "overpass_url", server.url)
        inputs = pipeline.load_inputs(_scenario(district, {"download": True}))
        assert len(server.queries) == 1
    assert inputs.travel.method.startswith("road network (drive) from OpenStreetMap download (http://127.0.0.1")
    assert np.isfinite(inputs.travel.seconds.to_numpy()).all()
    offline = pipeline.load_inputs(_scenario(district, {"download": True}))  # the server is gone
    pd.testing.assert_frame_equal(inputs.travel.seconds, offline.travel.seconds)


def test_straight_line_is_named_in_metrics_summary_and_map(district: Path, tmp_path: Path) -> None:
    from zoning import pipeline
    from zoning.cli import format_summary

    result, folder = pipeline.run_plan(_scenario(district, {}), out=tmp_path / "out")
    method = result.inputs.travel.method
    assert method.startswith(STRAIGHT_LINE)
    assert json.loads((folder / "metrics.json").read_text())["travel_time_method"] == method
    assert f"travel times: {method}" in format_summary(result)
    assert f"Travel times: {method}" in (folder / "map.html").read_text()


def test_settings_snap_limit_default_is_used(caplog: pytest.LogCaptureFixture,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "max_snap_m", 10_000.0)
    units = units_at(far=(1000, 1900))
    with caplog.at_level(logging.WARNING, logger="zoning.traveltime"):
        compute_travel_times(units, schools_at(s=POSITIONS["A"]), toy_roads())
    assert "farther than" not in caplog.text
