"""Comparing proposals: one HTML page side by side, and the trade-off (frontier) chart.

A proposal is an output folder written by ``zoning plan``, ``zoning sweep`` or ``zoning
check-plan --out`` (``metrics.json``, ``units.geojson``, ``zones.geojson``). Functions here read
those folders and return pages, tables and figures; they write nothing (``zoning.pipeline``
saves them through :mod:`zoning.io`).

The page is a single self-contained HTML file: the maps are inline SVG drawn here (no tiles, no
scripts from the network), and a few lines of inline JavaScript highlight a unit on every map at
once when the mouse is over it.
"""

from __future__ import annotations

import html
import io
import json
import logging
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib.figure import Figure

from .errors import InputError
from .files import read_vector

log = logging.getLogger(__name__)

#: Files a proposal folder must hold.
PROPOSAL_FILES = ("metrics.json", "units.geojson", "zones.geojson")

#: Colour-blind-safe qualitative palette (Okabe-Ito, then Tol's muted), cycled for many schools.
PALETTE = [
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499",
]

#: Width of each small map, in CSS pixels.
MAP_WIDTH_PX = 360


@dataclass
class Proposal:
    """One plan read back from its output folder.

    Attributes
    ----------
    name
        Label on the page (the folder's name, made unique).
    folder
        The folder.
    metrics
        The parsed ``metrics.json``.
    units
        ``units.geojson`` indexed by ``geoid`` (``school_id``, ``students``, ...).
    zones
        ``zones.geojson`` indexed by ``school_id``.
    schools
        School points (the ``schools`` layer of ``plan.gpkg``), or None when the folder has none.
    """

    name: str
    folder: Path
    metrics: dict[str, Any]
    units: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    schools: gpd.GeoDataFrame | None = None

    @property
    def plan(self) -> pd.Series:
        """``geoid -> school_id`` (None for a unit without a school)."""
        return self.units["school_id"].astype(object).where(self.units["school_id"].notna(), None)


def load_proposal(folder: Path, *, name: str | None = None) -> Proposal:
    """Read a proposal folder.

    Raises
    ------
    InputError
        The folder or one of its files is missing or unreadable.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"proposal folder `{folder}` does not exist; give folders written by"
                         " `zoning plan`, `zoning sweep` or `zoning check-plan --out`")
    missing = [f for f in PROPOSAL_FILES if not (folder / f).is_file()]
    if missing:
        raise InputError(f"proposal folder `{folder}` has no {', '.join(f'`{m}`' for m in missing)};"
                         " give a complete output folder of `zoning plan` (or solve the scenario again)")
    try:
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"`{folder / 'metrics.json'}` is not valid JSON ({exc});"
                         " write the folder again") from exc
    if not isinstance(metrics, dict) or not isinstance(metrics.get("district"), dict):
        raise InputError(f"`{folder / 'metrics.json'}` has no `district` metrics; it was not written by"
                         " zoning: write the folder again with `zoning plan`")
    units = read_vector(folder / "units.geojson", "proposal units", key="the proposal folder",
                        string_columns=("geoid", "school_id", "current_school_id"))
    zones = read_vector(folder / "zones.geojson", "proposal zones", key="the proposal folder",
                        string_columns=("school_id",))
    for gdf, file, col in ((units, "units.geojson", "geoid"), (zones, "zones.geojson", "school_id")):
        if col not in gdf.columns:
            raise InputError(f"`{folder / file}` has no `{col}` column; write the folder again with"
                             " `zoning plan`")
    if "school_id" not in units.columns:
        raise InputError(f"`{folder / 'units.geojson'}` has no `school_id` column; write the folder"
                         " again with `zoning plan`")
    units = units.set_index("geoid")
    zones = zones.set_index("school_id")
    schools = None
    if (folder / "plan.gpkg").is_file():
        schools = read_vector(folder / "plan.gpkg", "proposal schools", key="the proposal folder",
                              layer="schools", string_columns=("school_id",))
        schools = schools.set_index("school_id") if "school_id" in schools.columns else None
    return Proposal(name or folder.name, folder, metrics, units, zones, schools)


def load_proposals(folders: list[Path]) -> list[Proposal]:
    """Read several proposal folders of the same district, with unique names.

    Raises
    ------
    InputError
        Fewer than two folders, or folders whose units differ (plans of different districts).
    """
    if len(folders) < 2:
        raise InputError(f"compare needs at least two proposal folders; found {len(folders)}:"
                         f" {[str(f) for f in folders]}")
    names = _unique_names([Path(f) for f in folders])
    proposals = [load_proposal(Path(f), name=n) for f, n in zip(folders, names, strict=True)]
    base = proposals[0]
    for p in proposals[1:]:
        a, b = set(base.units.index), set(p.units.index)
        if a != b:
            only_a, only_b = sorted(a - b)[:3], sorted(b - a)[:3]
            raise InputError(
                f"proposals `{base.folder}` ({len(a)} units) and `{p.folder}` ({len(b)} units) cover"
                f" different units (only in the first: {only_a}; only in the second: {only_b});"
                " compare plans of the same district"
            )
    return proposals


def _unique_names(folders: list[Path]) -> list[str]:
    names = [f.name or str(f) for f in folders]
    if len(set(names)) == len(names):
        return names
    out = []
    for f in folders:
        parts = f.resolve().parts
        out.append("/".join(parts[-2:]) if len(parts) >= 2 else str(f))
    if len(set(out)) < len(out):
        out = [f"{n} ({i + 1})" for i, n in enumerate(out)]
    return out


# --------------------------------------------------------------------------- tables


def assignment_table(proposals: list[Proposal]) -> pd.DataFrame:
    """Units x proposals: each unit's school in each proposal, with its students (first proposal's)."""
    base = proposals[0]
    out = pd.DataFrame(index=pd.Index(sorted(base.units.index), name="geoid"))
    out["students"] = base.units["students"].reindex(out.index).astype(float)
    for p in proposals:
        out[p.name] = p.plan.reindex(out.index)
    return out


def changed_units(proposals: list[Proposal]) -> pd.DataFrame:
    """The units whose school is not the same in every proposal (rows of :func:`assignment_table`)."""
    table = assignment_table(proposals)
    schools = table[[p.name for p in proposals]].fillna("")
    differs = schools.nunique(axis=1) > 1
    return table[differs.to_numpy()]


def change_matrix(proposals: list[Proposal]) -> pd.DataFrame:
    """For every pair of proposals, the units and students that change school between them.

    Returns
    -------
    DataFrame
        Columns ``from``, ``to``, ``units_changed``, ``students_changed``, ``students_share``
        (of all students), one row per ordered pair with ``from`` before ``to``.
    """
    table = assignment_table(proposals)
    total = float(table["students"].sum())
    rows = []
    for i, a in enumerate(proposals):
        for b in proposals[i + 1:]:
            sa, sb = table[a.name].fillna(""), table[b.name].fillna("")
            moved = (sa != sb).to_numpy()
            students = float(table["students"].to_numpy()[moved].sum())
            rows.append({"from": a.name, "to": b.name, "units_changed": int(moved.sum()),
                         "students_changed": round(students, 3),
                         "students_share": round(students / total, 6) if total > 0 else 0.0})
    return pd.DataFrame(rows, columns=["from", "to", "units_changed", "students_changed", "students_share"])


#: Rows of the metrics table: (label, how to read it from metrics.json, format, lower is better).
METRIC_ROWS: list[tuple[str, str, str, bool | None]] = [
    ("Solver status", "status_text", "text", None),
    ("Gap to best bound", "gap", "pct2", True),
    ("Students", "district.students", "int", None),
    ("District low-income share", "district.district_low_income_share", "pct", None),
    ("Worst deviation from district share", "district.worst_deviation", "pts", True),
    ("Zones outside the band", "district.zones_outside_band", "int", True),
    ("Dissimilarity index", "district.dissimilarity", "f3", True),
    ("Normalized exposure", "district.normalized_exposure", "f3", True),
    ("Mean travel", "district.mean_travel_s", "min", True),
    ("Longest travel", "district.max_travel_s", "min", True),
    ("Students beyond the travel limit", "district.share_beyond_min", "pct", True),
    ("Zones over capacity", "district.zones_over_capacity", "int", True),
    ("Zones under capacity", "district.zones_under_capacity", "int", True),
    ("Lowest utilization", "district.min_utilization", "pct", None),
    ("Highest utilization", "district.max_utilization", "pct", None),
    ("Students who change school", "district.moved_share", "pct", True),
    ("Mean travel change vs today", "district.mean_travel_change_s", "min", True),
    ("Mean compactness (Polsby-Popper)", "district.mean_polsby_popper", "f3", False),
    ("Policy violations", "violations", "count", True),
    ("Band (+/-)", "policy.band", "pts", None),
]


def _get(metrics: dict[str, Any], path: str) -> Any:
    value: Any = metrics
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if path == "violations" and isinstance(value, list):
        return len(value)
    return value


def _fmt(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if kind == "text":
        return str(value)
    v = float(value)
    return {
        "int": f"{v:,.0f}", "count": f"{v:,.0f}", "pct": f"{v:.1%}", "pct2": f"{v:.2%}",
        "pts": f"{v * 100:.1f} pts", "f3": f"{v:.3f}", "min": f"{v / 60:.1f} min",
    }[kind]


def metrics_table(proposals: list[Proposal]) -> pd.DataFrame:
    """Metrics side by side: one row per metric (raw values), one column per proposal."""
    data = {p.name: [_get(p.metrics, path) for _, path, _, _ in METRIC_ROWS] for p in proposals}
    return pd.DataFrame(data, index=pd.Index([label for label, _, _, _ in METRIC_ROWS], name="metric"))


# --------------------------------------------------------------------------- SVG maps


def school_colours(school_ids: list[str]) -> dict[str, str]:
    """A colour per school, the same on every map of the page."""
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sorted(school_ids))}


class _Projector:
    """Longitude/latitude to SVG pixels (equirectangular at the district's mid-latitude)."""

    def __init__(self, bounds: tuple[float, float, float, float], width: float) -> None:
        minx, miny, maxx, maxy = bounds
        self.kx = math.cos(math.radians((miny + maxy) / 2))
        span_x = max((maxx - minx) * self.kx, 1e-9)
        span_y = max(maxy - miny, 1e-9)
        self.scale = width / span_x
        self.minx, self.maxy = minx, maxy
        self.width = width
        self.height = span_y * self.scale

    def transform(self, geoms: np.ndarray) -> np.ndarray:
        def f(c: np.ndarray) -> np.ndarray:
            out = np.empty_like(c)
            out[:, 0] = (c[:, 0] - self.minx) * self.kx * self.scale
            out[:, 1] = (self.maxy - c[:, 1]) * self.scale
            return out

        return shapely.transform(geoms, f)


def _path_data(geom: Any) -> str:
    """SVG path data of a (multi)polygon in pixel coordinates, one decimal."""
    if geom is None or geom.is_empty:
        return ""
    parts = []
    polys = getattr(geom, "geoms", [geom])
    for poly in polys:
        if poly.geom_type != "Polygon":
            continue
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)[:-1]
            if len(xy) < 3:
                continue
            pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
            parts.append(f"M{pts}Z")
    return "".join(parts)


def render_svg_map(proposal: Proposal, *, colours: dict[str, str], projector: _Projector,
                   changed: set[str], baseline: str | None = None) -> str:
    """An inline SVG map of one proposal: units coloured by school, zone outlines, changed units.

    Units in ``changed`` (their school differs from the baseline proposal's) are drawn with a
    red outline; every unit path carries ``data-g`` (its geoid) for highlighting and a tooltip.
    """
    units = proposal.units
    geoms = projector.transform(units.geometry.to_numpy())
    geoms = shapely.simplify(geoms, 0.3, preserve_topology=True)
    out = [f'<svg class="map" viewBox="0 0 {projector.width:.0f} {projector.height:.0f}"'
           f' width="{projector.width:.0f}" height="{projector.height:.0f}" role="img"'
           f' aria-label="map of {html.escape(proposal.name)}">']
    out.append('<g class="units">')
    for (geoid, row), geom in zip(units.iterrows(), geoms, strict=True):
        school = row["school_id"] if isinstance(row["school_id"], str) else None
        fill = colours.get(school, "#bbbbbb") if school else "#ffffff"
        cls = ' class="chg"' if geoid in changed else ""
        tip = f"{geoid}: {school or 'no school'}, {float(row.get('students', 0) or 0):.0f} students"
        out.append(f'<path d="{_path_data(geom)}" fill="{fill}" data-g="{html.escape(str(geoid))}"{cls}>'
                   f"<title>{html.escape(tip)}</title></path>")
    out.append("</g>")
    zone_geoms = shapely.simplify(projector.transform(proposal.zones.geometry.to_numpy()), 0.3,
                                  preserve_topology=True)
    out.append('<g class="zones">')
    for geom in zone_geoms:
        d = _path_data(geom)
        if d:
            out.append(f'<path d="{d}"/>')
    out.append("</g>")
    if changed:
        out.append('<g class="changed">')
        for (geoid, _), geom in zip(units.iterrows(), geoms, strict=True):
            if geoid in changed:
                out.append(f'<path d="{_path_data(geom)}"/>')
        out.append("</g>")
    if proposal.schools is not None and len(proposal.schools):
        out.append('<g class="schools">')
        points = projector.transform(proposal.schools.geometry.to_numpy())
        for (sid, row), pt in zip(proposal.schools.iterrows(), points, strict=True):
            if pt is None or pt.is_empty:
                continue
            pt = pt.centroid
            label = f"{row.get('name', sid)} ({sid})"
            fill = colours.get(str(sid), "#bbbbbb")
            out.append(f'<circle cx="{pt.x:.1f}" cy="{pt.y:.1f}" r="4" fill="{fill}">'
                       f"<title>{html.escape(label)}</title></circle>")
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------- page

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.6em 0 .5em}
table{border-collapse:collapse;margin:.3em 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{background:#f2f2f2}
td.best{font-weight:bold;background:#eef7ee}
.maps{display:flex;flex-wrap:wrap;gap:16px}.maps figure{margin:0}
.maps figcaption{font-weight:bold;margin-bottom:4px}
svg.map{border:1px solid #999;background:#fafafa}
svg.map .units path{stroke:#fff;stroke-width:.3;fill-rule:evenodd}
svg.map .zones path{fill:none;stroke:#000;stroke-width:1.4;fill-rule:evenodd}
svg.map .changed path{fill:none;stroke:#c00000;stroke-width:1.1;stroke-dasharray:3 2}
svg.map .units path.hl{stroke:#000;stroke-width:2}
svg.map .schools circle{stroke:#000;stroke-width:1.5}
.legend span{display:inline-block;margin:0 10px 4px 0}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px;
border:1px solid #666}
.note{color:#555;max-width:60em}#unit{min-height:1.4em;font-weight:bold}
"""

_JS = """
(function () {
  var info = document.getElementById("unit");
  var lit = [];
  function clear() {
    for (var i = 0; i < lit.length; i++) { lit[i].classList.remove("hl"); }
    lit = [];
  }
  document.addEventListener("mouseover", function (ev) {
    var t = ev.target;
    if (!t || !t.getAttribute) { return; }
    var g = t.getAttribute("data-g");
    if (!g) { return; }
    clear();
    lit = Array.prototype.slice.call(document.querySelectorAll('path[data-g="' + g + '"]'));
    for (var i = 0; i < lit.length; i++) { lit[i].classList.add("hl"); }
    var row = window.ZONING_UNITS[g];
    info.textContent = row ? g + ": " + row : g;
  });
})();
"""


def _metrics_html(proposals: list[Proposal]) -> str:
    head = "".join(f"<th>{html.escape(p.name)}</th>" for p in proposals)
    rows = []
    for label, path, kind, lower in METRIC_ROWS:
        values = [_get(p.metrics, path) for p in proposals]
        if all(v is None for v in values):
            continue
        best: float | None = None
        numeric = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
                   and math.isfinite(float(v))]
        if lower is not None and len(numeric) == len(values) and len(set(numeric)) > 1:
            best = min(numeric) if lower else max(numeric)
        cells = []
        for v in values:
            is_best = best is not None and v is not None and float(v) == best
            cells.append(f"<td{' class=best' if is_best else ''}>{html.escape(_fmt(v, kind))}</td>")
        rows.append(f"<tr><th>{html.escape(label)}</th>{''.join(cells)}</tr>")
    return (f'<table id="metrics"><thead><tr><th>metric</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _changes_html(proposals: list[Proposal], *, limit: int) -> str:
    matrix = change_matrix(proposals)
    rows = "".join(
        f"<tr><td>{html.escape(r['from'])}</td><td>{html.escape(r['to'])}</td><td>{r['units_changed']:,}</td>"
        f"<td>{r['students_changed']:,.0f}</td><td>{r['students_share']:.1%}</td></tr>"
        for _, r in matrix.iterrows()
    )
    out = ['<table id="pairs"><thead><tr><th>from</th><th>to</th><th>units that change school</th>'
           f"<th>students</th><th>share of students</th></tr></thead><tbody>{rows}</tbody></table>"]
    changed = changed_units(proposals)
    out.append(f"<p>{len(changed):,} units ({changed['students'].sum():,.0f} students) are not in the"
               " same zone in every proposal.</p>")
    if len(changed):
        shown = changed.head(limit)
        head = "".join(f"<th>{html.escape(p.name)}</th>" for p in proposals)
        body = "".join(
            f"<tr><td>{html.escape(str(g))}</td><td>{r['students']:,.1f}</td>"
            + "".join(f"<td>{html.escape(str(r[p.name]) if isinstance(r[p.name], str) else '–')}</td>"
                      for p in proposals)
            + "</tr>"
            for g, r in shown.iterrows()
        )
        out.append(f'<table id="changed"><thead><tr><th>unit</th><th>students</th>{head}</tr></thead>'
                   f"<tbody>{body}</tbody></table>")
        if len(changed) > limit:
            out.append(f"<p class=note>First {limit:,} of {len(changed):,} units shown; `changes.csv`"
                       " beside this page lists them all.</p>")
    return "".join(out)


def render_compare_page(proposals: list[Proposal], *, title: str = "Comparison of proposals",
                        max_rows: int = 500) -> str:
    """The comparison page: metrics side by side, a small map each, and what changes between them.

    Maps mark (dashed red) the units whose school differs from the first proposal's. Hovering a
    unit highlights it on every map and names its school in each proposal.

    Parameters
    ----------
    proposals
        At least two proposals of the same district (:func:`load_proposals`); the first is the
        baseline the maps mark changes against.
    title
        Page title.
    max_rows
        Units listed in the table of changed units (all are in ``changes.csv``).

    Returns
    -------
    str
        A complete, self-contained HTML document.
    """
    base = proposals[0]
    schools = sorted({s for p in proposals for s in p.zones.index.astype(str)}
                     | {s for p in proposals for s in p.plan.dropna().astype(str)})
    colours = school_colours(schools)
    bounds = tuple(float(v) for v in base.units.total_bounds)
    projector = _Projector(bounds, MAP_WIDTH_PX)  # type: ignore[arg-type]
    table = assignment_table(proposals)
    figures = []
    for i, p in enumerate(proposals):
        if i == 0:
            changed: set[str] = set()
        else:
            a, b = table[base.name].fillna(""), table[p.name].fillna("")
            changed = set(table.index[(a != b).to_numpy()])
        caption = html.escape(p.name) + ("" if i else " (baseline)")
        sub = html.escape(str(p.metrics.get("status_text", p.metrics.get("status", ""))))
        figures.append(f"<figure><figcaption>{caption}<br><small>{sub}</small></figcaption>"
                       f"{render_svg_map(p, colours=colours, projector=projector, changed=changed)}</figure>")
    names = {s: s for s in schools}
    for p in proposals:
        if "name" in p.zones.columns:
            for s, n in p.zones["name"].items():
                if isinstance(n, str) and n:
                    names[str(s)] = n
    legend = "".join(f'<span><i style="background:{colours[s]}"></i>{html.escape(names[s])}'
                     f" ({html.escape(s)})</span>" for s in schools)
    lookup = {
        str(g): ", ".join(f"{p.name}: {r[p.name] if isinstance(r[p.name], str) else 'none'}"
                          for p in proposals)
        for g, r in table.iterrows()
    }
    data = json.dumps(lookup, sort_keys=True).replace("</", "<\\/")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        '<link rel="icon" href="data:,">',
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class=note>{len(proposals)} proposals for {len(base.units):,} units."
        " Best value of each row in bold (where lower or higher is clearly better).</p>",
        "<h2>Metrics</h2>",
        _metrics_html(proposals),
        "<h2>Maps</h2>",
        f'<div class="legend">{legend}<span><i style="border:2px dashed #c00000;background:#fff"></i>'
        f"school differs from {html.escape(base.name)}</span></div>",
        '<p id="unit" class="note">Point at a unit to see its school in every proposal.</p>',
        f'<div class="maps">{"".join(figures)}</div>',
        "<h2>What changes</h2>",
        _changes_html(proposals, limit=max_rows),
        f"<script>window.ZONING_UNITS = {data};</script>",
        f"<script>{_JS}</script>",
        "</body></html>",
        "",
    ])


# --------------------------------------------------------------------------- frontier chart


def render_frontier_chart(frontier: pd.DataFrame, *, parameter: str = "band",
                          title: str | None = None) -> Figure:
    """The trade-off chart of a sweep: integration against travel time and students moved.

    Two panels share the x axis, the worst deviation of a zone's low-income share from the
    district share (points; less is more integrated): mean travel time (minutes), and the share
    of students who change school (when the scenario has current boundaries). Each point is
    labelled with its swept value; optimal points are filled, time-limited ones hollow. Points
    without a plan (infeasible, none in time) are listed under the chart.

    Parameters
    ----------
    frontier
        The table of :func:`zoning.sweep.run_sweep` (``frontier.csv``).
    parameter
        The swept column (``band`` or a weight).
    """
    fig = Figure(figsize=(10, 4.2), dpi=100)
    axes = fig.subplots(1, 2)
    solved = frontier[frontier["worst_deviation"].notna()]
    optimal = solved["status"] == "optimal"
    panels = [("mean_travel_s", "Mean travel time (min)", 1 / 60),
              ("moved_share", "Students who change school (%)", 100.0)]
    for ax, (col, label, scale) in zip(axes, panels, strict=True):
        x = solved["worst_deviation"].astype(float) * 100
        y = solved[col].astype(float) * scale
        has = y.notna()
        if has.any():
            order = np.argsort(x[has].to_numpy(), kind="stable")
            ax.plot(x[has].to_numpy()[order], y[has].to_numpy()[order], color="#777777", lw=1, zorder=1)
            if (has & optimal).any():
                ax.scatter(x[has & optimal], y[has & optimal], color="#0072B2", zorder=2, label="optimal")
            if (has & ~optimal).any():
                ax.scatter(x[has & ~optimal], y[has & ~optimal], facecolor="white", edgecolor="#D55E00",
                           zorder=2, label="feasible (time limit, gap > 0)")
            labels: dict[tuple[float, float], list[str]] = {}
            for xi, yi, v in zip(x[has], y[has], solved.loc[has, parameter], strict=True):
                labels.setdefault((round(float(xi), 6), round(float(yi), 6)), []).append(f"{float(v):g}")
            right = float(x[has].max())
            for (xi, yi), names in labels.items():
                at_right = len(labels) > 1 and xi >= right - 1e-9
                ax.annotate(", ".join(names), (xi, yi), textcoords="offset points", fontsize=8,
                            xytext=(-4, 4) if at_right else (4, 4), ha="right" if at_right else "left")
        else:
            empty = "no plan" if solved.empty else "no current boundaries in the scenario"
            ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", color="#777777")
            ax.set_xticks([])
            ax.set_yticks([])
        ax.set_xlabel("Worst deviation from district low-income share (points)")
        ax.set_ylabel(label)
        ax.grid(True, color="#dddddd", lw=0.6)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        axes[0].legend(fontsize=8, loc="best")
    unsolved = frontier[frontier["worst_deviation"].isna()]
    lines: list[str] = []
    if len(unsolved):
        groups = unsolved.groupby("status", sort=False)[parameter]
        text = "; ".join(f"{status}: {parameter} " + ", ".join(f"{float(v):g}" for v in values)
                         for status, values in groups)
        lines = textwrap.wrap(f"No plan ({text})", width=150)
        fig.text(0.01, 0.01, "\n".join(lines), fontsize=8, color="#aa0000", va="bottom")
    fig.suptitle(title or f"Trade-off frontier over {parameter}", fontsize=12)
    fig.tight_layout(rect=(0, 0.035 * len(lines), 1, 1))
    return fig


def figure_bytes(fig: Figure, *, fmt: str) -> bytes:
    """The figure as PNG or SVG bytes, identical on every run (no dates, fixed SVG ids)."""
    buffer = io.BytesIO()
    metadata: dict[str, Any] = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    with matplotlib.rc_context({"svg.hashsalt": "zoning", "svg.fonttype": "none"}):
        fig.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()
