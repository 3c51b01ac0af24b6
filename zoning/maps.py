"""Interactive HTML maps of a plan (folium + Leaflet). Functions here return objects; they never
write files.

The page made by :func:`render_map` is one self-contained file: with ``offline=True`` (the
default) Leaflet's script, its style sheet and its images are read from the installed
``xstatic-leaflet`` package and inlined, and the page's own script and styles come from
``zoning/assets``; nothing is loaded from the network and the optional street basemap starts
switched off. The map is readable without tiles: zones are filled, outlined and labelled.

Geometry is made light before it is written: units are simplified as a coverage
(:func:`simplify_coverage`, shared edges simplified once so neighbours never open gaps) and
coordinates are rounded (5 decimals, about 1 m). Zone outlines are dissolved from the simplified
units, so they sit exactly on unit edges.

Data contracts
--------------
units
    GeoDataFrame indexed by ``geoid`` with ``school_id`` (the plan), ``students``,
    ``low_income``, ``travel_time_s`` and polygons; optional ``current_travel_time_s``.
schools
    GeoDataFrame indexed by ``school_id`` with ``name``, ``capacity`` and Point geometry.
table, district
    From :func:`zoning.metrics.zone_table` and :func:`zoning.metrics.district_metrics`.
current
    Series ``geoid -> school_id`` of today's assignment (optional).
"""

from __future__ import annotations

import base64
import html
import importlib
import json
import logging
import math
import mimetypes
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement
from folium.map import Layer
from folium.template import Template

from .errors import InputError, ZoningError, format_problems

log = logging.getLogger(__name__)

#: Okabe-Ito colours (black left out): mutually distinguishable with every common colour-vision
#: deficiency. Used first, and alone when a district has at most seven schools.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
#: Paul Tol's "light" scheme, used only where more colours are needed than Okabe-Ito has; its
#: pale grey is left out because it reads as "no data".
TOL_LIGHT = [
    "#77AADD",
    "#EE8866",
    "#EEDD88",
    "#FFAABB",
    "#99DDFF",
    "#44BB99",
    "#BBCC33",
    "#AAAA00",
]
#: Every fill colour a zone may get, most distinguishable first.
PALETTE = OKABE_ITO + TOL_LIGHT

#: Default simplification tolerance (metres) and coordinate decimals (5 = about 1 m).
SIMPLIFY_M = 3.0
DECIMALS = 5

#: Units closer than this (metres) count as neighbours when colouring zones, so zones facing each
#: other across a street, a river or a sliver still get different colours.
NEIGHBOUR_GAP_M = 100.0


class MapAssetError(ZoningError, RuntimeError):
    """An asset needed for an offline map (Leaflet's files) is not installed."""


# --- colours -----------------------------------------------------------------------------


#: Colour-vision-deficiency simulation matrices (Machado et al. 2009, severity 1) on linear RGB.
_CVD = {
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
    "tritanopia": np.array(
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]
    ),
}
#: Two fills closer than this (CIE76 delta E, for normal or any simulated deficient vision) are
#: too alike for neighbouring zones.
CONFUSABLE_DELTA_E = 20.0


def _linear_rgb(colour: str) -> np.ndarray:
    c = np.array([int(colour[i : i + 2], 16) / 255.0 for i in (1, 3, 5)])
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear: np.ndarray) -> np.ndarray:
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ np.clip(linear, 0.0, 1.0) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def colour_distance(a: str, b: str) -> float:
    """How far apart two ``#RRGGBB`` colours look: the smallest CIE76 delta E over normal vision
    and simulated protanopia, deuteranopia and tritanopia."""
    la, lb = _linear_rgb(a), _linear_rgb(b)
    views = [np.eye(3), *_CVD.values()]
    return float(min(np.linalg.norm(_lab(v @ la) - _lab(v @ lb)) for v in views))


_PALETTE_DISTANCE = np.array([[colour_distance(a, b) for b in PALETTE] for a in PALETTE])


def zone_colours(
    school_ids: Iterable[str],
    *,
    neighbours: Iterable[tuple[str, str]] = (),
    positions: dict[str, tuple[float, float]] | None = None,
) -> dict[str, str]:
    """A fill colour per school; neighbouring zones never share a colour and, wherever the
    palette allows, never get two colours that look alike to colour-blind viewers.

    Zones are coloured in DSATUR order (most constrained first). Each takes, in this order of
    preference: a colour not within ``CONFUSABLE_DELTA_E`` of a neighbour's colour (see
    :func:`colour_distance`); while the palette lasts (15 colours), a colour no other school
    has; an Okabe-Ito colour; the least used colour; the colour whose nearest zone of that colour
    is farthest away.
    A neighbour's own colour is never taken (unless a zone touches every colour).

    Parameters
    ----------
    school_ids
        Ids of every school (strings).
    neighbours
        Pairs of school ids whose zones touch (in the proposed or the current plan).
    positions
        ``school_id -> (x, y)`` in metres (e.g. the school or zone centre), used to spread
        repeated colours apart.

    Returns
    -------
    dict
        ``school_id -> "#RRGGBB"``; deterministic for the same input.
    """
    ids = sorted({str(s) for s in school_ids})
    unique = len(ids) <= len(PALETTE)
    adj: dict[str, set[str]] = {s: set() for s in ids}
    for a, b in neighbours:
        a, b = str(a), str(b)
        if a != b and a in adj and b in adj:
            adj[a].add(b)
            adj[b].add(a)
    order = {s: k for k, s in enumerate(ids)}
    chosen: dict[str, int] = {}
    uses = [0] * len(PALETTE)
    while len(chosen) < len(ids):
        node = max(
            (s for s in ids if s not in chosen),
            key=lambda s: (len({chosen[n] for n in adj[s] if n in chosen}), len(adj[s]), -order[s]),
        )
        near = [chosen[n] for n in adj[node] if n in chosen]
        free = [i for i in range(len(PALETTE)) if i not in near]
        if not free:
            log.warning(
                "zone %s touches %d differently coloured zones; a neighbour shares its colour",
                node,
                len(set(near)),
            )
            free = list(range(len(PALETTE)))

        def key(i: int, node: str = node, near: list[int] = near) -> tuple[Any, ...]:
            closest = min((_PALETTE_DISTANCE[i, j] for j in near), default=math.inf)
            spread = 0.0
            if positions is not None and node in positions:
                same = [positions[o] for o, c in chosen.items() if c == i and o in positions]
                x, y = positions[node]
                spread = -min((math.hypot(x - a, y - b) for a, b in same), default=math.inf)
            reused = unique and uses[i] > 0
            return (closest < CONFUSABLE_DELTA_E, reused, i >= len(OKABE_ITO), uses[i], spread, i)

        pick = min(free, key=key)
        chosen[node] = pick
        uses[pick] += 1
    return {s: PALETTE[chosen[s]] for s in ids}


def zone_neighbours(
    geoms: gpd.GeoSeries, *plans: pd.Series, gap_m: float = NEIGHBOUR_GAP_M
) -> set[tuple[str, str]]:
    """Pairs of schools whose zones touch in any of the given plans.

    Parameters
    ----------
    geoms
        Unit polygons indexed by ``geoid``, in a metric CRS.
    *plans
        Series ``geoid -> school_id``; units missing from a plan are ignored for it.
    gap_m
        Units closer than this many metres count as touching (real data has slivers).

    Returns
    -------
    set of tuple
        Sorted ``(school_a, school_b)`` pairs with ``a < b``.
    """
    arr = geoms.to_numpy()
    tree = shapely.STRtree(arr)
    left, right = tree.query(arr, predicate="dwithin", distance=gap_m)
    keep = left < right
    left, right = left[keep], right[keep]
    pairs: set[tuple[str, str]] = set()
    for plan in plans:
        zone = plan.reindex(geoms.index).to_numpy(dtype=object)
        a, b = zone[left], zone[right]
        for x, y in zip(a, b, strict=True):
            if isinstance(x, str) and isinstance(y, str) and x != y:
                pairs.add((min(x, y), max(x, y)))
    return pairs


def plan_colours(
    units: gpd.GeoDataFrame, schools: gpd.GeoDataFrame, *, current: pd.Series | None = None
) -> dict[str, str]:
    """Zone colours for a plan: neighbours in the plan or in ``current`` never share a colour.

    Parameters
    ----------
    units
        Units with ``school_id`` (the plan) and polygons, with a CRS.
    schools
        Schools indexed by ``school_id`` with Point geometry (spreads repeated colours apart).
    current
        Today's assignment ``geoid -> school_id``, so the current map uses the same colours.

    Returns
    -------
    dict
        ``school_id -> "#RRGGBB"``, the same in the interactive map and the printable summary.
    """
    metric = units.geometry.to_crs(units.geometry.estimate_utm_crs())
    plans = [units["school_id"].dropna().astype(str)]
    if current is not None:
        plans.append(current.dropna().astype(str))
    xy = schools.geometry.to_crs(metric.crs)
    positions = {str(s): (float(p.x), float(p.y)) for s, p in xy.items()}
    return zone_colours(
        [str(s) for s in schools.index], neighbours=zone_neighbours(metric, *plans), positions=positions
    )


# --- geometry ----------------------------------------------------------------------------


def simplify_coverage(geoms: gpd.GeoSeries, *, tolerance_m: float = SIMPLIFY_M) -> gpd.GeoSeries:
    """Simplify polygons that tile an area without opening gaps or overlaps between them.

    Every shared edge is simplified once (``shapely.coverage_simplify``), so both neighbours
    keep exactly the same border; the outer boundary is simplified too.

    Parameters
    ----------
    geoms
        Polygons with a CRS (any; they are simplified in the local UTM zone).
    tolerance_m
        Simplification tolerance in metres; 0 returns the input unchanged.

    Returns
    -------
    GeoSeries
        Same index and CRS as ``geoms``.

    Raises
    ------
    InputError
        When ``geoms`` has no CRS or ``tolerance_m`` is negative.
    """
    if tolerance_m < 0:
        raise InputError(
            f"`simplify_m` must be >= 0 metres; found {tolerance_m}. Use 0 to keep every vertex."
        )
    if geoms.crs is None:
        raise InputError(
            "the polygons to simplify have no CRS; expected EPSG:4326. Set it with `.set_crs(4326)`."
        )
    if tolerance_m == 0 or len(geoms) == 0:
        return geoms
    metric = geoms.to_crs(geoms.estimate_utm_crs())
    simple = shapely.coverage_simplify(metric.to_numpy(), tolerance_m)
    return gpd.GeoSeries(simple, index=geoms.index, crs=metric.crs).to_crs(geoms.crs)


def round_coordinates(geoms: np.ndarray | gpd.GeoSeries, *, decimals: int = DECIMALS) -> np.ndarray:
    """Round every coordinate to ``decimals`` places and drop vertices that became repeated.

    Shared vertices round to the same value on both sides, so a coverage stays gap-free.
    """
    arr = geoms.to_numpy() if isinstance(geoms, gpd.GeoSeries) else np.asarray(geoms, dtype=object)
    rounded = shapely.transform(arr, lambda c: np.round(c, decimals))
    return shapely.remove_repeated_points(rounded, tolerance=0.0)


def _coords(geom: Any, decimals: int) -> Any:
    """GeoJSON geometry dict of a (rounded) polygon or multipolygon, or None when empty."""
    if geom is None or geom.is_empty:
        return None
    mapping = shapely.geometry.mapping(geom)
    return {"type": mapping["type"], "coordinates": _tolist(mapping["coordinates"], decimals)}


def _tolist(obj: Any, decimals: int) -> Any:
    if isinstance(obj, tuple | list) and obj and isinstance(obj[0], float | int):
        return [round(float(v), decimals) for v in obj[:2]]
    return [_tolist(o, decimals) for o in obj]


def _feature_collection(
    geoms: Iterable[Any], props: Iterable[dict[str, Any]], decimals: int
) -> dict[str, Any]:
    features = []
    for geom, p in zip(geoms, props, strict=True):
        g = _coords(geom, decimals)
        if g is not None:
            features.append({"type": "Feature", "properties": p, "geometry": g})
    return {"type": "FeatureCollection", "features": features}


# --- assets ------------------------------------------------------------------------------


def _asset(name: str) -> str:
    return resources.files("zoning").joinpath("assets", name).read_text(encoding="utf-8")


def _inline_urls(css: str, base: Path) -> str:
    """Replace ``url(file)`` in a style sheet by data URIs of the files next to it."""

    def repl(match: re.Match[str]) -> str:
        target = match.group(1).strip().strip("'\"")
        if target.startswith(("#", "data:")):
            return match.group(0)
        path = base / target
        if not path.is_file():
            raise MapAssetError(
                f"Leaflet's style sheet refers to `{target}`, which is not in `{base}`; "
                "reinstall it with `pip install --force-reinstall xstatic-leaflet`"
            )
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f'url("data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}")'

    return re.sub(r"url\(([^)]*)\)", repl, css)


def leaflet_assets() -> tuple[str, str, str]:
    """Leaflet's script and style sheet (images inlined) from the installed ``xstatic-leaflet``.

    Returns
    -------
    tuple of str
        ``(javascript, css, version)``.

    Raises
    ------
    MapAssetError
        When ``xstatic-leaflet`` is not installed or its files are missing.
    """
    try:
        xleaflet = importlib.import_module("xstatic.pkg.leaflet")
    except ImportError as exc:
        raise MapAssetError(
            "offline maps inline Leaflet from the `xstatic-leaflet` package, which is not installed; "
            "install it with `pip install xstatic-leaflet`, or write an online map (`--online`)"
        ) from exc
    base = Path(xleaflet.BASE_DIR)
    js_path, css_path = base / "leaflet.js", base / "leaflet.css"
    for p in (js_path, css_path):
        if not p.is_file():
            raise MapAssetError(
                f"`{p}` is missing from the xstatic-leaflet package; reinstall it with "
                "`pip install --force-reinstall xstatic-leaflet`"
            )
    js = js_path.read_text(encoding="utf-8")
    js = re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", js)
    css = _inline_urls(css_path.read_text(encoding="utf-8"), base)
    return js, css, str(xleaflet.VERSION)


def _script_tag(code: str) -> str:
    return "<script>\n" + code.replace("</script", "<\\/script") + "\n</script>"


def _style_tag(code: str) -> str:
    return "<style>\n" + code.replace("</style", "<\\/style") + "\n</style>"


def _json_for_script(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


# --- folium elements ---------------------------------------------------------------------


class _JsLayer(Layer):
    """A layer built by a JavaScript expression (from ``zoning/assets/map.js``); it takes part
    in folium's LayerControl like any folium layer."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = {{ this.expression }};
        {% endmacro %}
        """
    )

    def __init__(
        self, expression: str, *, key: str, name: str, show: bool = True, control: bool = True
    ) -> None:
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "layer"
        self._id = key
        self.expression = expression


class _JsStatement(MacroElement):
    """A JavaScript statement run after its parent is created; ``{map}`` is the parent's name."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this.statement.replace("{map}", this._parent.get_name()) }}
        {% endmacro %}
        """
    )

    def __init__(self, statement: str, *, key: str) -> None:
        super().__init__()
        self._name = "js"
        self._id = key
        self.statement = statement


# --- content -----------------------------------------------------------------------------


def _fmt_int(v: Any) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{float(v):,.0f}"


def _fmt_pct(v: Any, digits: int = 1) -> str:
    return (
        "n/a"
        if v is None or (isinstance(v, float) and not math.isfinite(v))
        else f"{float(v) * 100:.{digits}f}%"
    )


def _fmt_pts(v: Any) -> str:
    return (
        "n/a"
        if v is None or (isinstance(v, float) and not math.isfinite(v))
        else f"{float(v) * 100:+.1f} pts"
    )


def _fmt_min(v: Any) -> str:
    return (
        "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{float(v) / 60:.1f} min"
    )


def _rows(rows: list[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in rows)


def _school_popup(sid: str, name: str, t: pd.Series, district_share: float) -> str:
    rows = [
        ("Capacity", _fmt_int(t["capacity"])),
        ("Students", _fmt_int(t["students"])),
        ("Utilization", _fmt_pct(t["utilization"], 0)),
        (
            "Low-income share",
            f"{_fmt_pct(t['low_income_share'])} ({_fmt_pts(t['deviation'])} vs district"
            f" {_fmt_pct(district_share)})",
        ),
        ("Travel time", f"mean {_fmt_min(t['mean_travel_s'])} &middot; max {_fmt_min(t['max_travel_s'])}"),
        ("Units", _fmt_int(t.get("units"))),
    ]
    return (
        f'<div class="zs-popup"><h3>{html.escape(name)} ({html.escape(sid)})</h3>'
        f"<div>Proposed zone</div><table>{_rows(rows)}</table></div>"
    )


def _current_popup(
    sid: str,
    name: str,
    capacity: float,
    students: float,
    low_income: float,
    district_share: float,
    proposed_students: float,
) -> str:
    share = low_income / students if students > 0 else float("nan")
    rows = [
        ("Capacity", _fmt_int(capacity)),
        ("Students today", _fmt_int(students)),
        ("Utilization today", _fmt_pct(students / capacity if capacity > 0 else float("nan"), 0)),
        ("Low-income share", f"{_fmt_pct(share)} ({_fmt_pts(share - district_share)} vs district)"),
        ("Proposed change", f"{proposed_students - students:+,.0f} students"),
    ]
    return (
        f'<div class="zs-popup"><h3>{html.escape(name)} ({html.escape(sid)})</h3>'
        f"<div>Current zone</div><table>{_rows(rows)}</table></div>"
    )


def short_name(name: str, limit: int = 22) -> str:
    """A school name without "Elementary School" and the like, cut to ``limit`` characters."""
    for suffix in (" Elementary School", " Elementary", " School"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return name if len(name) <= limit else name[: limit - 1] + "\u2026"


def summary_rows(
    district: dict[str, Any], *, status: str = "", band: float | None = None, travel_method: str | None = None
) -> list[tuple[str, str]]:
    """District metrics as ``(label, escaped HTML value)`` rows, shared by the map and the
    printable summary."""
    d = district
    rows: list[tuple[str, str]] = []
    if status:
        rows.append(("Solver", html.escape(status)))
    rows.append(
        (
            "Students",
            f"{_fmt_int(d.get('students'))} in {d.get('units', 'n/a')} units,"
            f" {d.get('schools', 'n/a')} schools",
        )
    )
    rows.append(("Low-income share", _fmt_pct(d.get("district_low_income_share"))))
    band_txt = f" (band &plusmn;{band * 100:.0f} pts)" if band is not None else ""
    rows.append(("Worst deviation", f"{float(d.get('worst_deviation', 0)) * 100:.1f} pts{band_txt}"))
    if band is not None:
        rows.append(("Zones outside band", str(d.get("zones_outside_band", "n/a"))))
    rows.append(("Dissimilarity", f"{float(d.get('dissimilarity', 0)):.3f}"))
    rows.append(("Normalized exposure", f"{float(d.get('normalized_exposure', 0)):.3f}"))
    rows.append(
        (
            "Over / under capacity",
            f"{d.get('zones_over_capacity', 'n/a')} / {d.get('zones_under_capacity', 'n/a')} zones",
        )
    )
    rows.append(
        ("Mean travel", f"{_fmt_min(d.get('mean_travel_s'))} (max {_fmt_min(d.get('max_travel_s'))})")
    )
    if "share_beyond_min" in d:
        rows.append((f"Beyond {float(d.get('beyond_min', 20)):g} min", _fmt_pct(d.get("share_beyond_min"))))
    if "moved_students" in d:
        rows.append(
            ("Students reassigned", f"{_fmt_int(d['moved_students'])} ({_fmt_pct(d.get('moved_share'))})")
        )
        change = d.get("mean_travel_change_s")
        if change is not None:
            minutes = round(float(change) / 60, 1) + 0.0  # + 0.0 turns -0.0 into 0.0
            rows.append(("Mean travel change", f"{minutes:+.1f} min"))
    if travel_method:
        rows.append(("Travel times", html.escape(travel_method)))
    return rows


def _legend_html(
    ids: list[str], names: dict[str, str], colours: dict[str, str], *, has_current: bool, has_changes: bool
) -> str:
    schools = "".join(
        f'<div class="zs-row"><span class="zs-swatch" style="background:{colours[s]}"></span>'
        f"{html.escape(names[s])} ({html.escape(s)})</div>"
        for s in ids
    )
    symbols = [
        '<div class="zs-row"><span class="zs-line" style="border-top:3px solid #111"></span>'
        "Proposed zone boundary</div>",
        '<div class="zs-row"><span class="zs-dot"></span>School (click for details)</div>',
    ]
    if has_changes:
        symbols.append(
            '<div class="zs-row"><span class="zs-swatch" style="border:2px dashed #111;'
            'background:repeating-linear-gradient(45deg,#111 0 2px,transparent 2px 6px)"></span>'
            "Unit that changes school</div>"
        )
    if has_current:
        symbols.append(
            '<div class="zs-row"><span class="zs-line" style="border-top:3px dotted #5b2a86">'
            "</span>Current boundary (layer)</div>"
        )
    many = " zs-many" if len(ids) > 12 else ""
    state = " open" if len(ids) <= 20 else ""
    return (
        f'<details{state}><summary>Schools and zones</summary><div class="zs-schools{many}">{schools}</div>'
        f'<div style="margin-top:6px">{"".join(symbols)}</div></details>'
    )


def _summary_html(title: str, rows: list[tuple[str, str]]) -> str:
    return (
        f"<details open><summary>{html.escape(title)}: district summary</summary>"
        f"<table>{_rows([(k, v) for k, v in rows])}</table></details>"
    )


#: The hatch that marks units changing school (an SVG pattern the map's paths refer to).
_HATCH_SVG = (
    '<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
    '<pattern id="zs-hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<line x1="0" y1="0" x2="0" y2="8" stroke="#111111" stroke-width="2.2" stroke-opacity="0.8"/>'
    "</pattern></defs></svg>"
)

# --- validation --------------------------------------------------------------------------


def _validate(
    units: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    table: pd.DataFrame,
    current: pd.Series | None,
) -> None:
    problems: list[str] = []
    need = ["school_id", "students", "low_income", "travel_time_s"]
    missing = [c for c in need if c not in units.columns]
    if missing:
        problems.append(
            f"`units` has no column(s) {missing}; found {list(units.columns)}. Pass the units layer"
            " of the plan (see `zoning.pipeline.output_layers`)"
        )
    if len(units) == 0:
        problems.append("`units` is empty; a map needs at least one unit")
    if units.crs is None:
        problems.append("`units` has no CRS; expected EPSG:4326. Set it with `.set_crs(4326)`")
    if schools.crs is None:
        problems.append("`schools` has no CRS; expected EPSG:4326. Set it with `.set_crs(4326)`")
    not_points = [str(s) for s, g in schools.geometry.items() if g is None or g.geom_type != "Point"]
    if not_points:
        problems.append(
            f"`schools` must be points; found other geometry for {not_points[:10]}."
            " Use each school's location"
        )
    for col in ("name", "capacity"):
        if col not in schools.columns:
            problems.append(f"`schools` has no column `{col}`; found {list(schools.columns)}")
    if "school_id" in units.columns:
        used = set(units["school_id"].dropna().astype(str))
        unknown = sorted(used - set(map(str, schools.index)))
        if unknown:
            problems.append(
                f"units are assigned to schools not in `schools`: {unknown[:10]}; pass every school"
                " the plan uses"
            )
        no_zone = sorted(used - set(map(str, zones.index)))
        if no_zone:
            problems.append(
                f"`zones` has no row for school(s) {no_zone[:10]} used by the plan; dissolve the zones"
                " from the same plan"
            )
        no_row = sorted(set(map(str, schools.index)) - set(map(str, table.index)))
        if no_row:
            problems.append(
                f"`table` has no row for school(s) {no_row[:10]}; compute it with"
                " `zoning.metrics.zone_table` for the same plan"
            )
    if current is not None:
        unknown_cur = sorted(set(current.dropna().astype(str)) - set(map(str, schools.index)))
        if unknown_cur:
            problems.append(f"`current` names schools not in `schools`: {unknown_cur[:10]}")
    if problems:
        raise InputError(format_problems("cannot draw the map", problems))


# --- the page ----------------------------------------------------------------------------


def render_map(
    units: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    table: pd.DataFrame,
    district: dict[str, Any],
    *,
    title: str,
    status: str = "",
    current: pd.Series | None = None,
    current_zones: gpd.GeoDataFrame | None = None,
    offline: bool = True,
    band: float | None = None,
    travel_method: str | None = None,
    summary_href: str | None = None,
    simplify_m: float = SIMPLIFY_M,
    decimals: int = DECIMALS,
) -> Figure:
    """An interactive page of a plan: proposed zones, and current vs proposed side by side.

    The page has a title bar (scenario name, solver status, view switch), and a map of the
    proposed zones with: units filled in their school's colour (colour-blind-safe, neighbouring
    zones never share a colour) with tooltips, dissolved zone outlines, school markers with
    popups, units that change school highlighted, current boundaries as a layer, a legend and a
    district summary panel. With ``current`` a second map of today's zones can be shown beside
    it; the two stay in step when panned or zoomed.

    Parameters
    ----------
    units
        Units of the plan (EPSG:4326): ``school_id``, ``students``, ``low_income``,
        ``travel_time_s``; optional ``current_travel_time_s``.
    zones
        Dissolved zones indexed by ``school_id``; every school the plan uses must have a row.
        Outlines are redrawn from the simplified units so they line up with unit edges.
    schools
        Schools indexed by ``school_id`` with ``name``, ``capacity`` and Point geometry.
    table
        Per-school metrics from :func:`zoning.metrics.zone_table`.
    district
        District metrics from :func:`zoning.metrics.district_metrics`.
    title
        Scenario name: the page title.
    status
        Solver status text (e.g. ``"optimal"``, ``"feasible with gap 0.8%"``).
    current
        Today's assignment ``geoid -> school_id``, to show changes and the current map.
    current_zones
        Today's zone polygons with a ``school_id`` column (or index); drawn as the current
        boundaries. Without them, boundaries are dissolved from ``current``.
    offline
        Inline Leaflet and every asset (no network request; basemap off). ``False`` loads
        Leaflet from its CDN and shows the street basemap.
    band
        The policy's low-income band (fraction), shown in the summary.
    travel_method
        How travel times were made (``TravelTimes.method``), shown in the summary panel so a
        straight-line estimate is never mistaken for road travel times.
    summary_href
        Link to the printable summary page, shown in the title bar when given.
    simplify_m
        Coverage simplification tolerance in metres (0 keeps every vertex).
    decimals
        Decimal places kept in coordinates.

    Returns
    -------
    branca.element.Figure
        The page; ``figure.render()`` gives the HTML. The proposed map is the child
        ``"map_proposed"``, the current one ``"map_current"``.

    Raises
    ------
    InputError
        Missing columns, no CRS, schools missing from ``schools``, ``zones`` or ``table``.
    MapAssetError
        ``offline=True`` and Leaflet's files are not installed.
    """
    _validate(units, zones, schools, table, current)
    if units.crs is not None and units.crs.to_epsg() != 4326:
        units = units.to_crs(4326)
    if schools.crs is not None and schools.crs.to_epsg() != 4326:
        schools = schools.to_crs(4326)
    plan = units["school_id"].astype(str)
    ids = [str(s) for s in schools.index]
    names = {str(s): str(s) if pd.isna(n) else str(n) for s, n in schools["name"].items()}
    has_current = current is not None
    cur = (
        current.reindex(units.index)
        if current is not None
        else pd.Series(None, index=units.index, dtype=object)
    )

    # geometry: simplify as a coverage, colour by touching zones, dissolve, round
    simple = simplify_coverage(units.geometry, tolerance_m=simplify_m)
    colours = plan_colours(units, schools, current=current)
    unit_geoms = round_coordinates(simple, decimals=decimals)
    zone_ids = sorted(set(plan))
    zone_geoms = [shapely.union_all(simple[plan == z].to_numpy()) for z in zone_ids]
    zone_geoms = list(round_coordinates(np.asarray(zone_geoms, dtype=object), decimals=decimals))
    cz_ids: list[str] = []
    cz_geoms: list[Any] = []
    if current_zones is not None and len(current_zones):
        cz = current_zones.reset_index() if "school_id" not in current_zones.columns else current_zones
        cz = cz.to_crs(4326) if cz.crs is not None and cz.crs.to_epsg() != 4326 else cz
        cz_simple = simplify_coverage(cz.geometry, tolerance_m=simplify_m)
        cz_ids = [str(s) for s in cz["school_id"]]
        cz_geoms = list(round_coordinates(cz_simple, decimals=decimals))
    elif has_current:
        known = cur.notna().to_numpy()
        for z in sorted(set(cur.dropna().astype(str))):
            mask = known & (cur.astype(str) == z).to_numpy()
            cz_ids.append(z)
            cz_geoms.append(shapely.union_all(simple[mask].to_numpy()))
        cz_geoms = list(round_coordinates(np.asarray(cz_geoms, dtype=object), decimals=decimals))

    # unit properties (short keys keep large districts light)
    share = (units["low_income"] / units["students"].where(units["students"] > 0)).round(3)
    minutes = (units["travel_time_s"] / 60).round(1)
    cur_minutes = (units["current_travel_time_s"] / 60).round(1) if "current_travel_time_s" in units else None
    props = []
    for i, g in enumerate(units.index):
        p: dict[str, Any] = {
            "g": str(g),
            "s": plan.iloc[i],
            "n": round(float(units["students"].iloc[i]), 1),
            "l": None if pd.isna(share.iloc[i]) else float(share.iloc[i]),
            "t": None if pd.isna(minutes.iloc[i]) else float(minutes.iloc[i]),
        }
        if has_current:
            c = cur.iloc[i]
            p["c"] = None if pd.isna(c) else str(c)
            p["x"] = int(p["c"] is not None and p["c"] != p["s"])
        if cur_minutes is not None and not pd.isna(cur_minutes.iloc[i]):
            p["ct"] = float(cur_minutes.iloc[i])
        props.append(p)
    n_changed = sum(p.get("x", 0) for p in props)

    district_share = float(district.get("district_low_income_share", 0.0))
    cur_students = (
        units["students"].groupby(cur.astype(object)).sum() if has_current else pd.Series(dtype=float)
    )
    cur_low = units["low_income"].groupby(cur.astype(object)).sum() if has_current else pd.Series(dtype=float)
    school_data = []
    for s, row in schools.iterrows():
        sid = str(s)
        t = table.loc[s]
        item = {
            "id": sid,
            "name": names[sid],
            "short": short_name(names[sid]),
            "lat": round(float(row.geometry.y), 6),
            "lon": round(float(row.geometry.x), 6),
            "popup": _school_popup(sid, names[sid], t, district_share),
        }
        if has_current:
            item["popupCurrent"] = _current_popup(
                sid,
                names[sid],
                float(row["capacity"]),
                float(cur_students.get(s, 0.0)),
                float(cur_low.get(s, 0.0)),
                district_share,
                float(t["students"]),
            )
        school_data.append(item)

    minx, miny, maxx, maxy = (float(v) for v in units.total_bounds)
    data = {
        "title": title,
        "bounds": [round(minx, 6), round(miny, 6), round(maxx, 6), round(maxy, 6)],
        "hasCurrent": has_current,
        "colours": colours,
        "names": names,
        "units": _feature_collection(unit_geoms, props, decimals),
        "zones": _feature_collection(zone_geoms, [{"s": z} for z in zone_ids], decimals),
        "currentZones": _feature_collection(cz_geoms, [{"s": z} for z in cz_ids], decimals)
        if cz_ids
        else None,
        "schools": school_data,
    }

    fig = Figure()
    fig.header.add_child(Element(f"<title>{html.escape(title)}</title>"), name="title")
    if offline:
        js, css, _ = leaflet_assets()
        fig.header.add_child(Element(_style_tag(css)), name="leaflet_css")
        fig.header.add_child(Element(_script_tag(js)), name="leaflet_js")
    else:
        urls = dict(folium.folium._default_js + folium.folium._default_css)
        fig.header.add_child(CssLink(urls["leaflet_css"]), name="leaflet_css")
        fig.header.add_child(JavascriptLink(urls["leaflet"]), name="leaflet_js")
    fig.header.add_child(Element(_style_tag(_asset("map.css"))), name="zoning_css")
    fig.header.add_child(Element(_script_tag(_asset("map.js"))), name="zoning_js")
    fig.header.add_child(
        Element(_script_tag(f"var zoningData = {_json_for_script(data)};\nzoning.init(zoningData);")),
        name="zoning_data",
    )

    sub = [f"Proposed attendance zones &middot; {len(ids)} schools &middot; {len(units)} units"]
    if status:
        sub.append(f"Solver: {html.escape(status)}")
    if has_current:
        sub.append(f"{n_changed} units change school")
    if travel_method:
        sub.append(f"Travel times: {html.escape(travel_method)}")
    buttons = ""
    if has_current:
        buttons = (
            '<button id="zs-view-single" class="zs-active" onclick="zoning.setView(\'single\')">'
            "Proposed</button>"
            '<button id="zs-view-side" onclick="zoning.setView(\'side\')">Current vs proposed</button>'
        )
    link = f'<a href="{html.escape(summary_href)}">Printable summary</a>' if summary_href else ""
    header = (
        f'<div class="zs-header"><div style="min-width:0"><h1>{html.escape(title)}</h1>'
        f'<div class="zs-sub">{" &middot; ".join(sub)}</div></div><span class="zs-spacer"></span>'
        f"{buttons}{link}</div>"
    )
    fig.html.add_child(Element(header), name="zs_header")
    fig.html.add_child(Element(_HATCH_SVG), name="zs_hatch")

    def base_map(key: str) -> folium.Map:
        m = folium.Map(
            location=[(miny + maxy) / 2, (minx + maxx) / 2],
            zoom_start=12,
            tiles=None,
            control_scale=True,
            zoom_snap=0.25,
        )
        m._id = key
        m.default_js = []
        m.default_css = []
        fig.add_child(m, name=f"map_{key}")
        _JsStatement(f'zoning.register({{map}}, "{key}");', key=f"register_{key}").add_to(m)
        basemap = folium.TileLayer(
            "OpenStreetMap", name="Street basemap (needs internet)", overlay=True, show=not offline
        )
        basemap._id = f"basemap_{key}"
        basemap.add_to(m)
        return m

    proposed = base_map("proposed")
    _JsLayer('zoning.units("proposed", "proposed")', key="units_proposed", name="Proposed zones").add_to(
        proposed
    )
    _JsLayer(
        'zoning.outlines("proposed", "zones", {color: "#111111", weight: 3, fill: false})',
        key="zones_proposed",
        name="Proposed zone boundaries",
    ).add_to(proposed)
    if has_current:
        _JsLayer(
            'zoning.changed("proposed")', key="changed_proposed", name="Units that change school"
        ).add_to(proposed)
        if cz_ids:
            _JsLayer(
                'zoning.outlines("proposed", "currentZones", {color: "#5b2a86", weight: 3, dashArray: "2 6",'
                " fill: false})",
                key="current_proposed",
                name="Current boundaries",
                show=False,
            ).add_to(proposed)
    _JsLayer('zoning.schools("proposed", "proposed")', key="schools_proposed", name="Schools").add_to(
        proposed
    )
    _JsLayer('zoning.labels("proposed")', key="labels_proposed", name="School names").add_to(proposed)
    control = folium.LayerControl(collapsed=False, position="topright")
    control._id = "proposed"
    control.add_to(proposed)
    legend = _legend_html(
        ids, names, colours, has_current=has_current and bool(cz_ids), has_changes=n_changed > 0
    )
    summary = _summary_html(
        title, summary_rows(district, status=status, band=band, travel_method=travel_method)
    )
    _JsStatement(
        f'zoning.box("bottomright", {_json_for_script(legend)}, "zs-box zs-legend").addTo({{map}});',
        key="legend_proposed",
    ).add_to(proposed)
    _JsStatement(
        f'zoning.box("bottomleft", {_json_for_script(summary)}, "zs-box zs-summary").addTo({{map}});',
        key="summary_proposed",
    ).add_to(proposed)
    _JsStatement(
        'zoning.box("topleft", "Proposed", "zs-pane-label").addTo({map});', key="label_proposed"
    ).add_to(proposed)

    if has_current:
        now = base_map("current")
        _JsLayer('zoning.units("current", "current")', key="units_current", name="Current zones").add_to(now)
        if cz_ids:
            _JsLayer(
                'zoning.outlines("current", "currentZones", {color: "#111111", weight: 3, fill: false})',
                key="zones_current",
                name="Current zone boundaries",
            ).add_to(now)
        _JsLayer('zoning.schools("current", "current")', key="schools_current", name="Schools").add_to(now)
        _JsLayer('zoning.labels("current")', key="labels_current", name="School names").add_to(now)
        _JsStatement(
            'zoning.box("topleft", "Current", "zs-pane-label").addTo({map});', key="label_current"
        ).add_to(now)
        sync = _JsStatement("zoning.sync(zoning.maps.proposed, zoning.maps.current);", key="sync")
        fig.add_child(sync, name="sync")
    log.info("map of %d units, %d zones (%s)", len(units), len(zone_ids), "offline" if offline else "online")
    return fig
