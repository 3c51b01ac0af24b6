"""Road graphs: real OSM XML/PBF/GraphML files, mode filters, speeds, caches, downloads, errors."""

from __future__ import annotations

import bz2
import logging
import math
from pathlib import Path

import geopandas as gpd
import networkx as nx
import osmnx as ox
import pytest
from overpass_standin import OverpassStandIn
from shapely.geometry import Point, box

from zoning import network, settings
from zoning.errors import DownloadError, InputError, ScenarioError
from zoning.network import (
    WAY_FILTERS,
    add_speeds,
    district_polygon,
    download_graph,
    load_graph,
    load_osm,
    utm_crs,
)
from zoning.scenario import scenario_from_dict

WEST_OAKLAND = "osm-small/West-Oakland.osm.bz2"
RENO_XML = "reno-nv-osm/reno_east3.osm"
RENO_PBF = "reno-nv-osm/reno_east3.pbf"
CAMBRIDGE = "cambridge-ma/derived/cambridge_centerlines_drive.graphml"


def _highways(G: nx.MultiDiGraph) -> set[str]:
    out: set[str] = set()
    for _, _, h in G.edges(data="highway"):
        out.update(h if isinstance(h, list) else [h])
    return out


def _check_contract(G: nx.MultiDiGraph, mode: str) -> None:
    assert G.graph["crs"]
    assert G.graph["zoning_mode"] == mode
    for _, d in G.nodes(data=True):
        assert math.isfinite(d["x"]) and math.isfinite(d["y"])
    for _, _, d in G.edges(data=True):
        assert d["length"] >= 0 and math.isfinite(d["travel_time"]) and d["travel_time"] >= 0
        assert d["speed_kph"] > 0


# --------------------------------------------------------------------------- way filters


def test_drive_filter_keeps_roads_and_drops_paths_services_and_private_ways() -> None:
    f = WAY_FILTERS["drive"]
    assert f.allows({"highway": "residential"})
    assert f.allows({"highway": "motorway_link"})
    assert f.allows({"highway": "primary", "access": "yes"})
    assert not f.allows({"building": "yes"})
    assert not f.allows({"highway": "footway"})
    assert not f.allows({"highway": "service"})
    assert not f.allows({"highway": "cycleway"})
    assert not f.allows({"highway": "residential", "access": "private"})
    assert not f.allows({"highway": "residential", "motor_vehicle": "no"})
    assert not f.allows({"highway": "pedestrian", "area": "yes"})
    assert not f.allows({"highway": "unclassified", "service": "driveway"})
    assert not f.allows({"highway": ["residential", "footway"]})  # a merged edge with a footpath


def test_walk_filter_keeps_paths_and_drops_motorways_and_no_foot() -> None:
    f = WAY_FILTERS["walk"]
    assert f.allows({"highway": "footway"})
    assert f.allows({"highway": "service", "service": "parking_aisle"})
    assert f.allows({"highway": "residential"})
    assert not f.allows({"highway": "motorway"})
    assert not f.allows({"highway": "trunk", "foot": "no"})
    assert not f.allows({"highway": "primary", "sidewalk": "separate"})
    assert not f.allows({"highway": "cycleway"})


def test_utm_crs_picks_the_zone() -> None:
    assert utm_crs(-119.75, 39.5) == "EPSG:32611"
    assert utm_crs(-71.1, 42.37) == "EPSG:32619"
    assert utm_crs(151.2, -33.9) == "EPSG:32756"
    with pytest.raises(InputError, match="cannot choose a metric CRS"):
        utm_crs(float("nan"), 10.0)


# --------------------------------------------------------------------------- real files


@pytest.mark.shared_data
def test_west_oakland_drive_and_walk_graphs(shared_file) -> None:
    path = shared_file(WEST_OAKLAND)
    drive = load_graph(path, mode="drive")
    walk = load_graph(path, mode="walk")
    _check_contract(drive, "drive")
    _check_contract(walk, "walk")
    assert drive.graph["zoning_source"] == "West-Oakland.osm.bz2"
    # the extract holds footways: walking has them, driving does not
    assert "footway" in _highways(walk) or "path" in _highways(walk) or "pedestrian" in _highways(walk)
    assert not _highways(drive) & {"footway", "path", "pedestrian", "service", "steps", "cycleway"}
    assert len(walk) > len(drive)
    # walking is two-way on every edge, at walking speed
    assert all(walk.has_edge(v, u) for u, v in walk.edges())
    speeds = {d["speed_kph"] for _, _, d in walk.edges(data=True)}
    assert speeds == {settings.walk_speed_kph}


@pytest.mark.shared_data
def test_reno_xml_and_pbf_give_the_same_graph_with_speeds_from_maxspeed_and_class(shared_file) -> None:
    xml = load_graph(shared_file(RENO_XML))
    pbf = load_graph(shared_file(RENO_PBF))
    _check_contract(xml, "drive")
    assert set(xml.nodes) == set(pbf.nodes)
    assert xml.number_of_edges() == pbf.number_of_edges()
    # every component is kept (osmnx's default keeps only the largest weak one: 1,504 nodes)
    assert len(xml) > 1504
    # drive graphs keep one-way streets one-way
    assert any(not xml.has_edge(v, u) for u, v in xml.edges())
    mph = [d for _, _, d in xml.edges(data=True) if d.get("maxspeed") == "35 mph"]
    assert mph and all(d["speed_kph"] == pytest.approx(35 * 1.60934) for d in mph)
    residential = [d for _, _, d in xml.edges(data=True)
                   if d.get("highway") == "residential" and "maxspeed" not in d]
    assert residential
    assert all(d["speed_kph"] == settings.drive_speeds_kph["residential"] for d in residential)
    for d in residential:
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6), rel=1e-3)


@pytest.mark.shared_data
@pytest.mark.slow
def test_city_pbf_drive_filter_matches_the_osmnx_drive_extract(shared_file) -> None:
    """The PBF holds buildings and footways; filtered here it gives the same graph as the XML
    made with osmnx's own drive filter."""
    pbf = load_osm(shared_file("osm-cities/portland-or-central.osm.pbf"), mode="drive")
    xml = load_osm(shared_file("osm-cities/portland-or-central_drive.osm.bz2"), mode="drive")
    assert set(pbf.nodes) == set(xml.nodes)
    assert pbf.number_of_edges() == xml.number_of_edges() == 10440
    assert "building" not in {k for _, _, d in pbf.edges(data=True) for k in d}


@pytest.mark.shared_data
@pytest.mark.slow
def test_city_pbf_walk_graph_has_footways_and_no_motorways(shared_file) -> None:
    walk = load_graph(shared_file("osm-cities/boston-cambridge-somerville.osm.pbf"), mode="walk")
    _check_contract(walk, "walk")
    hw = _highways(walk)
    assert "footway" in hw
    assert not hw & {"motorway", "motorway_link"}
    assert all(walk.has_edge(v, u) for u, v in walk.edges())


@pytest.mark.shared_data
def test_cambridge_graphml_keeps_stored_travel_times_for_driving(shared_file) -> None:
    path = shared_file(CAMBRIDGE)
    raw = ox.load_graphml(path)
    G = load_graph(path, mode="drive")
    _check_contract(G, "drive")
    assert len(G) == 1873 and G.number_of_edges() == 4349
    u, v, k = next(iter(raw.edges(keys=True)))
    assert G.edges[u, v, k]["travel_time"] == raw.edges[u, v, k]["travel_time"]


@pytest.mark.shared_data
def test_cambridge_graphml_walk_is_two_way_at_walking_speed(shared_file) -> None:
    G = load_graph(shared_file(CAMBRIDGE), mode="walk")
    _check_contract(G, "walk")
    assert all(G.has_edge(v, u) for u, v in G.edges())
    d = next(iter(G.edges(data=True)))[2]
    assert d["travel_time"] == pytest.approx(d["length"] / (settings.walk_speed_kph / 3.6))


# --------------------------------------------------------------------------- small OSM files


def _osm(path: Path, body: str) -> Path:
    path.write_text("<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n" + body + "</osm>\n",
                    encoding="utf-8")
    return path


_NODES = "".join(
    f'<node id="{i}" lat="{40 + i * 0.001:.6f}" lon="{-95 + (i % 2) * 0.001:.6f}"/>\n' for i in range(1, 7)
)


def test_ways_using_missing_nodes_are_cut_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    body = _NODES + (
        '<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="99"/><nd ref="3"/><nd ref="4"/>'
        '<tag k="highway" v="residential"/></way>\n'
    )
    with caplog.at_level(logging.WARNING, logger="zoning.network"):
        G = load_graph(_osm(tmp_path / "clipped.osm", body))
    assert "use nodes missing from the file" in caplog.text
    assert set(G.nodes) == {1, 2, 3, 4}
    assert not G.has_edge(2, 3) and not G.has_edge(3, 2)  # no straight line across the gap


def test_gzip_and_bzip2_osm_files_are_read(tmp_path: Path) -> None:
    body = _NODES + (
        '<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/></way>\n'
    )
    plain = _osm(tmp_path / "a.osm", body)
    packed = tmp_path / "a.osm.bz2"
    packed.write_bytes(bz2.compress(plain.read_bytes()))
    G = load_graph(packed)
    assert set(G.nodes) == {1, 3}  # simplified: the middle node only joins two segments
    assert G.edges[1, 3, 0]["speed_kph"] == settings.drive_speeds_kph["primary"]


def test_osm_file_without_drivable_ways_is_an_error(tmp_path: Path) -> None:
    body = _NODES + (
        '<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/><tag k="building" v="yes"/></way>\n'
        '<way id="11"><nd ref="4"/><nd ref="5"/><tag k="highway" v="footway"/></way>\n'
    )
    path = _osm(tmp_path / "paths.osm", body)
    match = r"no OSM way usable for `drive`: it holds 2 ways, 1 with a `highway`"
    with pytest.raises(InputError, match=match):
        load_graph(path, mode="drive")
    assert len(load_graph(path, mode="walk")) == 2


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("missing.osm", None, "does not exist; fix `\\[network\\] path`"),
        ("empty.osm", b"", "is empty"),
        ("roads.shp", b"abc", "unknown format; use OSM XML"),
        ("broken.osm", b"<osm><node id='1' lat='1' lon='2'>", "cannot be read as OSM"),
        ("broken.osm.pbf", b"\x00\x00\x00\x0dnot a pbf at all", "cannot be read as OSM PBF"),
        ("broken.graphml", b"<graphml><graph>", "cannot be read as GraphML"),
    ],
)
def test_bad_road_files_are_named(tmp_path: Path, name: str, content: bytes | None, match: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=match):
        load_graph(path)


def test_folder_and_unknown_mode_are_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder, not a file"):
        load_graph(tmp_path)
    with pytest.raises(InputError, match=r"travel mode must be one of \['drive', 'walk'\]; found 'bike'"):
        load_graph(tmp_path / "x.osm", mode="bike")


def _graphml(tmp_path: Path, G: nx.MultiDiGraph) -> Path:
    path = tmp_path / "g.graphml"
    ox.save_graphml(G, path)
    return path


def _toy() -> nx.MultiDiGraph:
    G = nx.MultiDiGraph(crs="EPSG:4326")
    G.add_node(1, x=-95.0, y=40.0)
    G.add_node(2, x=-95.001, y=40.0)
    G.add_edge(1, 2, length=85.0, highway="residential")
    G.add_edge(2, 1, length=85.0, highway="residential")
    return G


def test_graphml_errors_name_the_problem(tmp_path: Path) -> None:
    G = _toy()
    del G.graph["crs"]
    with pytest.raises(InputError, match="has no `crs` graph attribute"):
        load_graph(_graphml(tmp_path, G))
    G = _toy()
    G.add_node(3)
    G.add_edge(2, 3, length=10.0, highway="residential")
    with pytest.raises(InputError, match=r"1 nodes have no `x`/`y` coordinates"):
        load_graph(_graphml(tmp_path, G))
    G = _toy()
    for _, _, d in G.edges(data=True):
        d["highway"] = "footway"
    with pytest.raises(InputError, match="has no edge usable for `drive`"):
        load_graph(_graphml(tmp_path, G))
    G = _toy()
    for _, _, d in G.edges(data=True):
        d["travel_time"] = float("nan")
    with pytest.raises(InputError, match=r"2 edges have no usable length or travel time"):
        load_graph(_graphml(tmp_path, G))


def test_graphml_without_speeds_gets_class_speeds(tmp_path: Path) -> None:
    G = load_graph(_graphml(tmp_path, _toy()))
    d = G.edges[1, 2, 0]
    assert d["speed_kph"] == settings.drive_speeds_kph["residential"]
    assert d["travel_time"] == pytest.approx(85.0 / (d["speed_kph"] / 3.6), rel=1e-3)


def test_edges_without_class_use_the_road_speed() -> None:
    G = _toy()
    for _, _, d in G.edges(data=True):
        del d["highway"]
    add_speeds(G, mode="drive")
    assert {d["speed_kph"] for _, _, d in G.edges(data=True)} == {settings.drive_speeds_kph["road"]}


# --------------------------------------------------------------------------- graph cache


@pytest.mark.shared_data
def test_graph_cache_is_reused_and_keyed_by_mode_and_speeds(
    shared_file, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shared_file(WEST_OAKLAND)
    first = load_graph(path, cache_folder=tmp_path)
    assert len(list((tmp_path / "graphs").glob("*.pickle"))) == 1

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(network, "load_osm", no_parse)
    again = load_graph(path, cache_folder=tmp_path)
    assert nx.utils.graphs_equal(first, again)
    monkeypatch.undo()
    load_graph(path, mode="walk", cache_folder=tmp_path)
    monkeypatch.setattr(settings, "drive_speeds_kph", {**settings.drive_speeds_kph, "residential": 20.0})
    slower = load_graph(path, cache_folder=tmp_path)
    assert len(list((tmp_path / "graphs").glob("*.pickle"))) == 3
    assert sum(d["travel_time"] for *_, d in slower.edges(data=True)) > sum(
        d["travel_time"] for *_, d in first.edges(data=True))


@pytest.mark.shared_data
def test_damaged_graph_cache_is_rebuilt_with_a_warning(
    shared_file, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = shared_file(WEST_OAKLAND)
    G = load_graph(path, cache_folder=tmp_path)
    (cache,) = (tmp_path / "graphs").glob("*.pickle")
    cache.write_bytes(b"not a pickle")
    with caplog.at_level(logging.WARNING, logger="zoning.network"):
        again = load_graph(path, cache_folder=tmp_path)
    assert "is unreadable" in caplog.text
    assert len(again) == len(G)
    assert cache.read_bytes() != b"not a pickle"


# --------------------------------------------------------------------------- downloads


@pytest.fixture
def overpass(shared_file, monkeypatch: pytest.MonkeyPatch):
    """A loopback Overpass server answering from the real West Oakland extract."""
    with OverpassStandIn(shared_file(WEST_OAKLAND)) as server:
        monkeypatch.setattr(ox.settings, "overpass_url", server.url)
        monkeypatch.setattr(ox.settings, "requests_timeout", 10)
        yield server


def _oakland_area() -> object:
    # the middle of the West Oakland extract (osmnx adds 500 m around it for the download)
    return box(-122.3015, 37.8055, -122.2975, 37.8085)


@pytest.mark.shared_data
def test_download_uses_overpass_then_the_cache_offline(overpass: OverpassStandIn, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    G = download_graph(_oakland_area(), mode="drive", cache_folder=tmp_path)
    _check_contract(G, "drive")
    assert len(overpass.queries) == 1 and overpass.status_requests == 1
    query = overpass.queries[0]
    assert query.startswith("[out:json]") and '["highway"!~"abandoned|bridleway' in query
    assert "(poly:" in query
    assert G.graph["zoning_source"].startswith("OpenStreetMap download")
    assert not _highways(G) & {"footway", "path", "service"}
    # offline: the server is unreachable now, the cache answers
    monkeypatch.setattr(ox.settings, "overpass_url", "http://127.0.0.1:9/api")
    again = download_graph(_oakland_area(), mode="drive", cache_folder=tmp_path)
    assert nx.utils.graphs_equal(G, again)
    assert len(overpass.queries) == 1


@pytest.mark.shared_data
def test_download_after_a_speed_change_reuses_the_saved_overpass_answer(
    overpass: OverpassStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    download_graph(_oakland_area(), mode="walk", cache_folder=tmp_path)
    assert len(overpass.queries) == 1
    assert list((tmp_path / "overpass").glob("*.json"))
    monkeypatch.setattr(settings, "walk_speed_kph", 4.0)
    G = download_graph(_oakland_area(), mode="walk", cache_folder=tmp_path)
    assert len(overpass.queries) == 1  # rebuilt from the saved answer, no new request
    assert {d["speed_kph"] for *_, d in G.edges(data=True)} == {4.0}
    assert all(G.has_edge(v, u) for u, v in G.edges())


@pytest.mark.shared_data
def test_download_without_cache_writes_nothing(overpass: OverpassStandIn, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    download_graph(_oakland_area(), mode="drive")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.shared_data
def test_failed_download_without_cache_is_a_download_error(shared_file, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with OverpassStandIn(shared_file(WEST_OAKLAND), fail_with=400) as server:
        monkeypatch.setattr(ox.settings, "overpass_url", server.url)
        match = r"failed \(ResponseStatusCodeError: '127.0.0.1' responded: 400 .*give a local"
        with pytest.raises(DownloadError, match=match):
            download_graph(_oakland_area(), cache_folder=tmp_path)
    monkeypatch.setattr(ox.settings, "overpass_url", "http://127.0.0.1:9/api")
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", False)
    with pytest.raises(DownloadError, match=r"from http://127.0.0.1:9/api .* failed \(ConnectionError"):
        download_graph(_oakland_area(), cache_folder=tmp_path)


@pytest.mark.shared_data
def test_download_of_an_area_without_roads_is_a_download_error(overpass: OverpassStandIn,
                                                               tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="has no drive roads"):
        download_graph(box(-122.0, 37.0, -121.99, 37.01), cache_folder=tmp_path)


def test_download_area_must_be_a_polygon(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="must be a valid Polygon or MultiPolygon.*found Point"):
        download_graph(Point(0, 0), cache_folder=tmp_path)
    with pytest.raises(InputError, match="found an empty geometry"):
        download_graph(box(0, 0, 1, 1).intersection(box(2, 2, 3, 3)), cache_folder=tmp_path)


def test_district_polygon_covers_units_and_schools_with_a_margin() -> None:
    units = gpd.GeoDataFrame(geometry=[box(-95.01, 40.0, -95.0, 40.01)], index=["u"], crs="EPSG:4326")
    schools = gpd.GeoDataFrame(geometry=[Point(-94.99, 40.005)], index=["s"], crs="EPSG:4326")
    poly = district_polygon(units, schools, buffer_m=200)
    assert poly.contains(units.geometry.iloc[0]) and poly.contains(schools.geometry.iloc[0])
    assert poly.contains(Point(-95.01 - 0.002, 40.005))  # ~170 m west of the unit
    assert not poly.contains(Point(-95.01 - 0.004, 40.005))  # ~340 m west


# --------------------------------------------------------------------------- scenario keys


def test_scenario_network_keys_are_validated(tmp_path: Path) -> None:
    base = {"name": "t", "units": {"path": "u.geojson"}, "schools": {"path": "s.geojson"}}
    s = scenario_from_dict({**base, "network": {"download": True, "snap": "nearest_node"}}, base_dir=tmp_path)
    assert s.network.download and s.network.snap == "nearest_node" and s.network.cache
    bad = {**base, "network": {"path": "roads.osm", "download": True, "snap": "closest", "max_snap_m": 0}}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(bad, base_dir=tmp_path)
    text = str(info.value)
    assert "`[network] path` and `download = true` are both set" in text
    assert "`[network] snap` must be \"largest_component\" or \"nearest_node\"; found 'closest'" in text
    assert "`[network] max_snap_m` must be > 0 metres; found 0" in text
    with pytest.raises(ScenarioError, match=r"`\[network\] download` must be true/false"):
        scenario_from_dict({**base, "network": {"download": "yes"}}, base_dir=tmp_path)
