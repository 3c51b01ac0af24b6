"""Tests for zoning.synthetic: determinism, invariants, the road file and the committed demo."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from zoning import synthetic
from zoning.synthetic import (
    SyntheticDistrict,
    build_road_graph,
    make_demo_district,
    make_district,
    save_district,
    to_osm_xml,
)

ox = pytest.importorskip("osmnx")

DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"
FILES = ("units.geojson", "schools.geojson", "current_zones.geojson", "roads.osm")
METRIC = synthetic.METRIC_CRS


@pytest.fixture(scope="module")
def demo() -> SyntheticDistrict:
    return make_demo_district()


@pytest.fixture(scope="module")
def demo_dir(demo: SyntheticDistrict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    save_district(demo, folder)
    return folder


@pytest.fixture(scope="module")
def demo_graph(demo_dir: Path) -> nx.MultiDiGraph:
    return ox.graph_from_xml(demo_dir / "roads.osm")


def _metric(geom: shapely.Geometry) -> shapely.Geometry:
    return gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(METRIC).iloc[0]


def _bank_of_units(district: SyntheticDistrict) -> np.ndarray:
    """Index (0 or 1) of the bank each unit lies on, from the outline minus the river."""
    land = shapely.difference(district.outline, district.river)
    banks = sorted(shapely.get_parts(land), key=lambda p: -p.area)[:2]
    points = district.units.geometry.representative_point()
    label = np.full(len(points), -1)
    for b, bank in enumerate(banks):
        label[points.within(bank).to_numpy()] = b
    return label


# --- determinism ---------------------------------------------------------------------------


def test_same_arguments_give_identical_districts() -> None:
    a = make_district(n_units=60, n_schools=4, seed=3)
    b = make_district(n_units=60, n_schools=4, seed=3)
    pd.testing.assert_frame_equal(a.units.to_wkb(), b.units.to_wkb())
    pd.testing.assert_frame_equal(a.schools.to_wkb(), b.schools.to_wkb())
    pd.testing.assert_frame_equal(a.current_zones.to_wkb(), b.current_zones.to_wkb())
    pd.testing.assert_frame_equal(a.road_nodes, b.road_nodes)
    assert a.road_ways == b.road_ways
    assert a.outline.equals_exact(b.outline, 0.0)
    assert a.river.equals_exact(b.river, 0.0)
    assert to_osm_xml(a) == to_osm_xml(b)


def test_different_seeds_differ() -> None:
    a = make_district(n_units=60, n_schools=4, seed=3)
    b = make_district(n_units=60, n_schools=4, seed=4)
    assert not np.array_equal(a.units.geometry.to_wkb().values, b.units.geometry.to_wkb().values)


def test_saving_twice_gives_identical_bytes(tmp_path: Path) -> None:
    district = make_district(n_units=60, n_schools=4, seed=3)
    first = save_district(district, tmp_path / "a")
    second = save_district(make_district(n_units=60, n_schools=4, seed=3), tmp_path / "b")
    assert [p.name for p in first] == list(FILES)
    for p, q in zip(first, second, strict=True):
        assert p.read_bytes() == q.read_bytes(), p.name


def test_committed_demo_matches_the_generator(demo_dir: Path) -> None:
    for name in FILES:
        committed = DEMO_DIR / name
        assert committed.exists(), f"{committed} is missing; run `python -m zoning.synthetic`"
        assert committed.read_bytes() == (demo_dir / name).read_bytes(), (
            f"{committed} differs from the generator; regenerate with `python -m zoning.synthetic data/demo`"
        )
    readme = (DEMO_DIR / "README.md").read_text()
    assert "SYNTHETIC" in readme
    assert "python -m zoning.synthetic data/demo" in readme


def test_demo_folder_is_small() -> None:
    assert sum(p.stat().st_size for p in DEMO_DIR.iterdir() if p.is_file()) < 3_000_000


# --- units ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_units", "n_schools"), [(100, 8), (300, 10)])
def test_exact_counts(n_units: int, n_schools: int) -> None:
    district = make_district(n_units=n_units, n_schools=n_schools, seed=5)
    assert len(district.units) == n_units
    assert len(district.schools) == n_schools
    assert len(district.current_zones) == n_schools


def test_geoids_are_fictional_unique_sorted_strings(demo: SyntheticDistrict) -> None:
    geoids = demo.units.index
    assert geoids.name == "geoid"
    assert all(isinstance(g, str) and len(g) == 12 and g.isdigit() for g in geoids)
    assert all(g.startswith("99001") for g in geoids)
    assert geoids.is_unique
    assert list(geoids) == sorted(geoids)


def test_unit_counts_are_consistent(demo: SyntheticDistrict) -> None:
    units = demo.units
    assert list(units.columns) == [
        "population",
        "students",
        "low_income",
        "median_income",
        "geometry",
    ]
    for column in ("population", "students", "low_income", "median_income"):
        assert pd.api.types.is_integer_dtype(units[column]), column
    assert (units["low_income"] >= 0).all()
    assert (units["low_income"] <= units["students"]).all()
    assert (units["students"] >= 1).all()
    ratio = units["students"] / units["population"]
    assert ratio.between(0.06, 0.22).all()
    assert 0.08 <= units["students"].sum() / units["population"].sum() <= 0.20
    assert units["median_income"].between(15_000, 250_000).all()
    share = units["low_income"].sum() / units["students"].sum()
    assert 0.30 <= share <= 0.45


def test_units_are_valid_single_polygons_of_block_group_size(demo: SyntheticDistrict) -> None:
    units = demo.units
    assert units.crs.to_epsg() == 4326
    assert (units.geom_type == "Polygon").all()
    assert units.is_valid.all()
    area_km2 = units.to_crs(METRIC).area / 1e6
    assert 0.2 <= area_km2.mean() <= 0.6
    assert area_km2.max() / area_km2.min() > 5  # dense core, large edge units
    overlaps = units.to_crs(METRIC).sindex.query(units.to_crs(METRIC).geometry, "overlaps")
    assert overlaps.size == 0


def test_river_separates_the_banks(demo: SyntheticDistrict) -> None:
    units = demo.units.to_crs(METRIC)
    river = _metric(demo.river)
    assert units.intersection(river).area.max() < 1.0
    bank = _bank_of_units(demo)
    assert (bank >= 0).all()
    north = shapely.union_all(units.geometry[bank == 0].to_numpy())
    south = shapely.union_all(units.geometry[bank == 1].to_numpy())
    assert north.distance(south) > 40.0  # the river is a gap, never a shared border
    assert min((bank == 0).sum(), (bank == 1).sum()) >= 0.2 * len(bank)


def test_income_gradient_is_strong(demo: SyntheticDistrict) -> None:
    units = demo.units
    lon = units.geometry.representative_point().x
    east = lon >= lon.median()

    def share(mask: pd.Series) -> float:
        return units.loc[mask, "low_income"].sum() / units.loc[mask, "students"].sum()

    # poverty grows along the river (eastward), on both banks
    assert share(east) - share(~east) > 0.20
    bank = _bank_of_units(demo)
    for b in (0, 1):
        on_bank = pd.Series(bank == b, index=units.index)
        assert share(east & on_bank) - share(~east & on_bank) > 0.15


def test_nearest_school_zones_are_unequal(demo: SyntheticDistrict) -> None:
    units = demo.units.to_crs(METRIC)
    schools = demo.schools.to_crs(METRIC)
    c = np.column_stack([units.centroid.x, units.centroid.y])
    s = np.column_stack([schools.geometry.x, schools.geometry.y])
    nearest = np.argmin(((c[:, None] - s[None]) ** 2).sum(-1), axis=1)
    sums = units[["students", "low_income"]].groupby(nearest).sum()
    shares = sums["low_income"] / sums["students"]
    assert shares.max() - shares.min() > 0.25


# --- schools and current zones -------------------------------------------------------------


def test_schools(demo: SyntheticDistrict) -> None:
    schools = demo.schools
    assert list(schools.index) == [f"S{k:02d}" for k in range(1, 11)]
    assert schools.index.name == "school_id"
    assert schools["name"].is_unique
    assert schools["name"].str.endswith("Elementary").all()
    assert pd.api.types.is_integer_dtype(schools["capacity"])
    assert (schools["capacity"] % 25 == 0).all()
    assert schools["capacity"].between(150, 1000).all()
    ratio = schools["capacity"].sum() / demo.units["students"].sum()
    assert 1.05 <= ratio <= 1.20
    assert (schools.geom_type == "Point").all()


def test_each_school_is_inside_its_own_unit(demo: SyntheticDistrict) -> None:
    hits = demo.units.sindex.query(demo.schools.geometry, predicate="within")
    assert sorted(hits[0].tolist()) == list(range(len(demo.schools)))
    assert len(set(hits[1].tolist())) == len(demo.schools)


def test_schools_on_both_banks(demo: SyntheticDistrict) -> None:
    bank = _bank_of_units(demo)
    hits = demo.units.sindex.query(demo.schools.geometry, predicate="within")
    assert set(bank[hits[1]].tolist()) == {0, 1}


def test_current_zones_cover_the_outline(demo: SyntheticDistrict) -> None:
    zones = demo.current_zones
    assert list(zones.columns) == ["school_id", "geometry"]
    assert list(zones["school_id"]) == list(demo.schools.index)
    assert zones.is_valid.all()
    metric = zones.to_crs(METRIC)
    outline = _metric(demo.outline)
    union = shapely.union_all(metric.geometry.to_numpy())
    assert union.symmetric_difference(outline).area < 1e-6 * outline.area
    assert abs(metric.area.sum() - outline.area) < 1e-6 * outline.area  # no overlaps
    for sid, school in demo.schools.geometry.items():
        assert zones.set_index("school_id").geometry[sid].contains(school)


def test_current_zones_do_not_follow_unit_borders(demo: SyntheticDistrict) -> None:
    units = demo.units.to_crs(METRIC)
    zones = demo.current_zones.to_crs(METRIC)
    pieces = gpd.overlay(units.reset_index(), zones, how="intersection", keep_geom_type=True)
    split = pieces[pieces.area > 1000.0].groupby("geoid").size()
    assert (split > 1).sum() >= 20


# --- roads ---------------------------------------------------------------------------------


def test_osm_xml_header_and_tags(demo: SyntheticDistrict, demo_dir: Path) -> None:
    text = (demo_dir / "roads.osm").read_text()
    assert '<osm version="0.6" generator="zoning.synthetic">' in text
    assert "<bounds " in text
    assert text.count("<node ") == len(demo.road_nodes)
    assert text.count("<way ") == len(demo.road_ways)
    tags = [w[2] for w in demo.road_ways]
    assert all("name" in t and "highway" in t for t in tags)
    highways = {t["highway"] for t in tags}
    assert {"primary", "secondary", "residential"} <= highways
    arterial = [t for t in tags if t["highway"] in {"primary", "secondary"}]
    assert any("maxspeed" in t for t in arterial)
    assert any("maxspeed" not in t for t in arterial)
    assert not any("maxspeed" in t for t in tags if t["highway"] == "residential")
    assert sum(t.get("oneway") == "yes" for t in tags) >= 2
    assert 2 <= sum(t.get("bridge") == "yes" for t in tags) <= 3


def test_osmnx_reads_the_roads(demo: SyntheticDistrict, demo_graph: nx.MultiDiGraph) -> None:
    G = demo_graph
    assert CRS.from_user_input(G.graph["crs"]).to_epsg() == 4326
    assert len(G) > 1000
    assert nx.is_strongly_connected(G)
    _, edges = ox.graph_to_gdfs(G)
    assert (edges["length"] > 0).all()
    assert edges["oneway"].any()


def test_only_bridges_cross_the_river(demo: SyntheticDistrict, demo_graph: nx.MultiDiGraph) -> None:
    _, edges = ox.graph_to_gdfs(demo_graph)
    crossing = edges[edges.intersects(demo.river)]

    def is_bridge(value: object) -> bool:
        return value == "yes" or (isinstance(value, list) and "yes" in value)

    assert len(crossing) >= 4  # at least two bridges, both directions
    assert crossing["bridge"].map(is_bridge).all()
    bridge_ways = {w[0] for w in demo.road_ways if w[2].get("bridge") == "yes"}
    osmids = crossing["osmid"].map(lambda v: set(v) if isinstance(v, list) else {v})
    assert set().union(*osmids) & bridge_ways == bridge_ways


def test_roads_reach_every_unit(demo: SyntheticDistrict, demo_graph: nx.MultiDiGraph) -> None:
    nodes, _ = ox.graph_to_gdfs(demo_graph)
    nodes = nodes.to_crs(METRIC)
    points = demo.units.to_crs(METRIC).representative_point()
    nearest = nodes.sindex.nearest(points, return_distance=True, return_all=False)[1]
    assert nearest.max() < 300.0


def test_river_makes_road_distance_much_longer_than_straight(
    demo: SyntheticDistrict,
) -> None:
    G = build_road_graph(demo)
    nodes = demo.road_nodes.set_index("id")
    pts = gpd.GeoSeries(gpd.points_from_xy(nodes["lon"], nodes["lat"]), crs=4326).to_crs(METRIC)
    xy = np.column_stack([pts.x, pts.y])
    river = _metric(demo.river)
    near = pts[pts.distance(river).to_numpy() < 120.0]
    # the worst detour between two nodes facing each other across the river
    source = int(nodes.index[near.index[0]])
    lengths = nx.single_source_dijkstra_path_length(G, source, weight="length")
    ratios = [
        lengths[int(nodes.index[i])] / max(np.hypot(*(xy[i] - xy[near.index[0]])), 1.0)
        for i in near.index[1:]
    ]
    assert max(ratios) > 3.0


def test_build_road_graph_matches_osmnx(
    demo: SyntheticDistrict, demo_dir: Path, demo_graph: nx.MultiDiGraph
) -> None:
    G = build_road_graph(demo)
    raw = ox.graph_from_xml(demo_dir / "roads.osm", simplify=False)
    assert CRS.from_user_input(G.graph["crs"]).to_epsg() == 4326
    assert set(G.nodes) == set(raw.nodes)
    assert G.number_of_edges() == raw.number_of_edges()
    assert nx.is_strongly_connected(G)
    total = sum(d["length"] for _, _, d in G.edges(data=True))
    total_raw = sum(d["length"] for _, _, d in raw.edges(data=True))
    assert total == pytest.approx(total_raw, rel=1e-9)
    node = next(iter(G.nodes))
    assert {"x", "y"} <= set(G.nodes[node])


# --- files ---------------------------------------------------------------------------------


def test_saved_geojson_reads_back(demo: SyntheticDistrict, demo_dir: Path) -> None:
    units = gpd.read_file(demo_dir / "units.geojson")
    assert units.crs.to_epsg() == 4326
    assert list(units.columns) == [
        "geoid",
        "population",
        "students",
        "low_income",
        "median_income",
        "geometry",
    ]
    assert units["geoid"].map(type).eq(str).all()
    assert list(units["geoid"]) == list(demo.units.index)
    assert units.is_valid.all()
    assert (units.geom_type == "Polygon").all()
    assert units["students"].sum() == demo.units["students"].sum()
    schools = gpd.read_file(demo_dir / "schools.geojson")
    assert list(schools.columns) == ["school_id", "name", "capacity", "geometry"]
    zones = gpd.read_file(demo_dir / "current_zones.geojson")
    assert list(zones.columns) == ["school_id", "geometry"]
    head = (demo_dir / "units.geojson").read_text()[:400]
    assert '"name": "Riverton planning units"' in head
    assert "SYNTHETIC" in head


def test_main_writes_a_district(tmp_path: Path) -> None:
    code = synthetic.main([str(tmp_path), "--n-units", "40", "--n-schools", "3", "--seed", "2"])
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)


# --- scale and errors ----------------------------------------------------------------------


@pytest.mark.slow
def test_benchmark_size_is_fast_and_exact() -> None:
    district = make_district(n_units=1000, n_schools=60, seed=11)
    assert len(district.units) == 1000
    assert district.units.index.is_unique
    assert len(district.schools) == 60
    ratio = district.schools["capacity"].sum() / district.units["students"].sum()
    assert 1.05 <= ratio <= 1.20
    assert nx.is_strongly_connected(build_road_graph(district))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_units": 10}, "`n_units` must be at least 20"),
        ({"n_schools": 1}, "`n_schools` must be at least 2"),
        ({"n_units": 40, "n_schools": 9}, r"`n_schools` must be at most n_units // 5 = 8"),
        ({"segregation": -0.5}, r"`segregation` must be a number >= 0; got -0.5"),
        ({"segregation": float("nan")}, r"`segregation` must be a number >= 0; got nan"),
    ],
)
def test_bad_arguments(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_district(**kwargs)


def test_segregation_scales_the_income_gradient() -> None:
    """Same seed, same places: a weaker gradient brings the east-west halves' low-income
    shares closer, and 0 leaves only the unit-level noise."""

    def east_west_gap(segregation: float) -> float:
        units = make_district(n_units=200, n_schools=8, seed=4, segregation=segregation).units
        x = units.geometry.to_crs(units.estimate_utm_crs()).centroid.x
        east = (x > x.median()).to_numpy()
        share = lambda sel: units["low_income"][sel].sum() / units["students"][sel].sum()  # noqa: E731
        return abs(share(east) - share(~east))

    steep, calibrated, flat = east_west_gap(1.0), east_west_gap(0.5), east_west_gap(0.0)
    assert steep > calibrated > flat
    assert flat < 0.05 < calibrated
