"""Typed module-level defaults, documented; override by assignment (as osmnx does).

Example::

    import zoning.settings
    zoning.settings.cache_folder = Path("/tmp/zoning-cache")
"""

from __future__ import annotations

import os
from pathlib import Path

#: CRS in which every GeoDataFrame is stored and exchanged.
default_crs: str = "EPSG:4326"

#: Folder for downloaded and derived data (road graphs, travel-time matrices, Census files).
cache_folder: Path = Path(os.environ.get("ZONING_CACHE", Path.home() / ".cache" / "zoning"))

#: Road speeds (km/h) by OSM ``highway`` class, used where a way has no ``maxspeed``.
drive_speeds_kph: dict[str, float] = {
    "motorway": 100.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 50.0,
    "primary": 56.0,
    "primary_link": 40.0,
    "secondary": 48.0,
    "secondary_link": 35.0,
    "tertiary": 40.0,
    "tertiary_link": 30.0,
    "unclassified": 32.0,
    "residential": 30.0,
    "living_street": 15.0,
    "service": 20.0,
    "road": 30.0,
    "busway": 30.0,
}

#: Speed used for a drive-mode edge whose class is not in :data:`drive_speeds_kph`.
drive_fallback_speed_kph: float = 30.0

#: Walking speed (km/h) for walk-mode graphs.
walk_speed_kph: float = 4.8

#: Straight-line fallback: distance x circuity / speed when no road network is given.
circuity_factor: float = 1.3
straight_line_speed_kph: float = 30.0

#: Warn when a unit or school snaps farther than this from its road node.
max_snap_m: float = 500.0

#: A unit or school farther than this from the road network's main component is not covered by
#: the road file at all (wrong extract, wrong place): an error, not a warning. None disables it.
max_snap_error_m: float | None = 5000.0

#: Margin (m) added around the units and schools when downloading the road network, so roads just
#: outside the district that shorten trips inside it are kept.
download_buffer_m: float = 1000.0

#: Two unit polygons are neighbours when their boundaries share at least this length.
min_shared_boundary_m: float = 1.0

#: Gap tolerance when deciding whether two polygons touch (real boundaries are not exact).
touch_tolerance_m: float = 0.5

#: Units cut off from the rest (islands) are linked to their nearest neighbour for contiguity,
#: unless the gap is wider than this (m): then they are reported as probably not in the district.
max_island_gap_m: float = 5000.0

#: Default solver and its limits.
solver: str = "highs"
time_limit_s: float = 120.0
mip_gap: float = 1e-4

#: Number of nearest schools (by travel time) a unit may be assigned to; 0 means all.
candidate_schools: int = 0

#: Census Data API root; ACS 5-year tables are read from ``{census_api_url}/{year}/acs/acs5``.
census_api_url: str = "https://api.census.gov/data"

#: TIGER/Line root; block groups are ``{tiger_url}/TIGER{year}/BG/tl_{year}_{state}_bg.zip``.
tiger_url: str = "https://www2.census.gov/geo/tiger"

#: ACS 5-year release (its last year) and TIGER/Line vintage used for downloads.
census_year: int = 2022

#: Seconds to wait for a Census server before giving up.
download_timeout_s: float = 60.0
