"""Printable pages about a plan. Functions here return HTML text; they never write files.

:func:`render_summary` makes the one-page summary handed out at community meetings: the
scenario's name, the district metrics, a static map of the proposed zones (inline SVG, so it
prints sharply and needs no script, network or plugin) and the per-school table. It is laid out
for one US Letter page (it also fits A4) and reads well on screen.

Data contracts are those of :mod:`zoning.maps`: ``units`` with ``school_id``, ``students``,
``low_income``, ``travel_time_s`` and polygons (EPSG:4326); ``schools`` indexed by
``school_id``; ``table`` and ``district`` from :mod:`zoning.metrics`; ``current`` a Series
``geoid -> school_id``.
"""

from __future__ import annotations

import html
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .maps import (
    DECIMALS,
    SIMPLIFY_M,
    _fmt_int,
    _fmt_min,
    _fmt_pct,
    _fmt_pts,
    _validate,
    plan_colours,
    round_coordinates,
    short_name,
    simplify_coverage,
    summary_rows,
)

#: Up to this many schools the table is one column; above, two tables side by side.
ONE_TABLE_MAX = 26

_CSS = """
@page { size: letter portrait; margin: 10mm; }
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; background: #fff; color: #111;
  font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 9pt; }
.page { width: 195mm; height: 258mm; margin: 0 auto; display: flex; flex-direction: column;
  overflow: hidden; }
@media screen { body { background: #e9e9e9; } .page { background: #fff; padding: 10mm; margin: 8mm auto;
  width: 215.9mm; height: 278mm; box-shadow: 0 1px 6px rgba(0,0,0,.3); } }
.page > * { flex: none; }
.page > svg.map { flex: 1 1 0; min-height: 40mm; }
h1 { font-size: 17pt; margin: 0; }
.sub { color: #444; margin: 1mm 0 3mm 0; }
.metrics { display: grid; grid-template-columns: repeat(2, 1fr); gap: 0.6mm 8mm; margin-bottom: 3mm;
  border-top: 0.4mm solid #111; border-bottom: 0.4mm solid #111; padding: 1.5mm 0; }
.metrics div { display: flex; justify-content: space-between; gap: 2mm; }
.metrics span { color: #444; }
.map { display: block; width: 100%; margin-bottom: 1mm; }
.legend { display: flex; gap: 6mm; color: #333; margin-bottom: 2mm; font-size: 8pt; }
.legend i { display: inline-block; width: 5mm; height: 3mm; vertical-align: middle; margin-right: 1.2mm; }
.tables { display: flex; gap: 4mm; align-items: flex-start; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 0.5mm 1.2mm; text-align: right; white-space: nowrap; }
th { border-bottom: 0.3mm solid #111; font-weight: bold; }
td.name, th.name { text-align: left; overflow: hidden; text-overflow: ellipsis; max-width: 66mm; }
tr:nth-child(even) td { background: #f3f3f3; }
.flag { color: #b00020; font-weight: bold; }
.sw { display: inline-block; width: 3mm; height: 3mm; border: 0.2mm solid #333; margin-right: 1mm;
  vertical-align: middle; }
.compact { font-size: 7.2pt; }
.dense { font-size: 6.6pt; }
.dense th, .dense td { padding: 0.35mm 0.8mm; }
.dense td.name { max-width: 34mm; }
.foot { margin-top: 2mm; color: #444; font-size: 7.5pt; }
a { color: inherit; }
@media print { a { text-decoration: none; } .noprint { display: none; } }
"""


def _svg_map(
    geoms: np.ndarray,
    plan: list[str],
    changed: list[bool],
    zone_geoms: dict[str, Any],
    schools: gpd.GeoDataFrame,
    colours: dict[str, str],
) -> str:
    """Inline SVG of units filled by zone, zone outlines, changed units hatched, and schools.

    Coordinates are lon/lat drawn with an equirectangular projection at the district's mean
    latitude (undistorted at district scale).
    """
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    kx = math.cos(math.radians((miny + maxy) / 2))
    w_deg, h_deg = max((maxx - minx) * kx, 1e-9), max(maxy - miny, 1e-9)
    vw = 1000.0
    vh = vw * h_deg / w_deg
    pad = 10.0
    scale = (vw - 2 * pad) / w_deg

    def path(geom: Any) -> str:
        if geom is None or geom.is_empty:
            return ""
        parts = []
        polys = geom.geoms if hasattr(geom, "geoms") else [geom]
        for poly in polys:
            if poly.geom_type != "Polygon":
                continue
            for ring in [poly.exterior, *poly.interiors]:
                c = np.asarray(ring.coords)
                x = pad + (c[:, 0] - minx) * kx * scale
                y = pad + (maxy - c[:, 1]) * scale
                pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))
                parts.append(f"M{pts}Z")
        return "".join(parts)

    out = [
        f'<svg class="map" viewBox="0 0 {vw:.0f} {vh + 2 * pad:.0f}" preserveAspectRatio="xMidYMid meet"'
        ' xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Map of the proposed zones">',
        '<defs><pattern id="hatch" width="7" height="7" patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(45)"><rect width="7" height="7" fill="none"/>'
        '<line x1="0" y1="0" x2="0" y2="7" stroke="#111" stroke-width="2"/></pattern></defs>',
    ]
    for geom, zone in zip(geoms, plan, strict=True):
        out.append(
            f'<path d="{path(geom)}" fill="{colours.get(zone, "#bdbdbd")}" fill-opacity="0.75"'
            ' stroke="#fff" stroke-width="0.6" fill-rule="evenodd"/>'
        )
    for geom, flag in zip(geoms, changed, strict=True):
        if flag:
            out.append(
                f'<path d="{path(geom)}" fill="url(#hatch)" stroke="#111" stroke-width="1.4"'
                ' stroke-dasharray="5 3" fill-rule="evenodd"/>'
            )
    for geom in zone_geoms.values():
        out.append(
            f'<path d="{path(geom)}" fill="none" stroke="#111" stroke-width="2.4"'
            ' stroke-linejoin="round" fill-rule="evenodd"/>'
        )
    small = len(schools) > 20
    for sid, row in schools.iterrows():
        x = pad + (row.geometry.x - minx) * kx * scale
        y = pad + (maxy - row.geometry.y) * scale
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{5 if small else 7}"'
            f' fill="{colours.get(str(sid), "#fff")}" stroke="#000" stroke-width="2"/>'
        )
        label = html.escape(short_name(str(row["name"]), 16 if small else 22))
        out.append(
            f'<text x="{x:.1f}" y="{y - (9 if small else 12):.1f}" text-anchor="middle"'
            f' font-size="{11 if small else 15}" font-weight="bold" stroke="#fff" stroke-width="3"'
            f' paint-order="stroke">{label}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _table_html(
    table: pd.DataFrame,
    colours: dict[str, str],
    *,
    band: float | None,
    max_utilization: float | None,
    current_students: pd.Series | None,
    narrow: bool = False,
) -> str:
    """The per-school table; ``narrow`` (two tables side by side) drops max travel and change."""
    head = (
        ["School", "Cap.", "Students", "Util.", "Low-inc.", "Dev.", "Travel"]
        if narrow
        else ["School", "Capacity", "Students", "Util.", "Low-inc.", "Dev.", "Mean trav."]
    )
    if not narrow:
        head.append("Max trav.")
    if current_students is not None and not narrow:
        head.append("vs today")
    rows = []
    for sid, t in table.iterrows():
        dev = t["deviation"]
        dev_flag = (
            band is not None and isinstance(dev, float) and math.isfinite(dev) and abs(dev) > band + 1e-9
        )
        util = t["utilization"]
        util_flag = (
            max_utilization is not None
            and isinstance(util, float)
            and math.isfinite(util)
            and util > max_utilization + 1e-9
        )
        cells = [
            f'<td class="name"><span class="sw" style="background:{colours.get(str(sid), "#bdbdbd")}"></span>'
            f"{html.escape(short_name(str(t['name']), 18) if narrow else str(t['name']))}"
            f" ({html.escape(str(sid))})</td>",
            f"<td>{_fmt_int(t['capacity'])}</td>",
            f"<td>{_fmt_int(t['students'])}</td>",
            f"<td{' class=flag' if util_flag else ''}>{_fmt_pct(util, 0)}</td>",
            f"<td>{_fmt_pct(t['low_income_share'])}</td>",
            f"<td{' class=flag' if dev_flag else ''}>{_fmt_pts(dev).replace(' pts', '')}</td>",
            f"<td>{_fmt_min(t['mean_travel_s']).replace(' min', '')}</td>",
        ]
        if not narrow:
            cells.append(f"<td>{_fmt_min(t['max_travel_s']).replace(' min', '')}</td>")
        if current_students is not None and not narrow:
            delta = float(t["students"]) - float(current_students.get(sid, 0.0))
            cells.append(f"<td>{delta:+,.0f}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    header = "".join(f"<th{' class=name' if i == 0 else ''}>{h}</th>" for i, h in enumerate(head))
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_summary(
    units: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    table: pd.DataFrame,
    district: dict[str, Any],
    *,
    title: str,
    status: str = "",
    current: pd.Series | None = None,
    band: float | None = None,
    max_utilization: float | None = None,
    travel_method: str | None = None,
    map_href: str | None = None,
    simplify_m: float = SIMPLIFY_M,
) -> str:
    """A printable one-page summary of a plan (HTML text).

    Parameters
    ----------
    units, zones, schools, table, district
        As for :func:`zoning.maps.render_map`.
    title
        Scenario name.
    status
        Solver status text.
    current
        Today's assignment; adds "students vs today", reassignment figures and hatches the
        units that change school.
    band
        The policy's low-income band (fraction); deviations beyond it are flagged.
    max_utilization
        The policy's maximum utilization; zones above it are flagged.
    travel_method
        How travel times were computed (stated on the page).
    map_href
        Link to the interactive map, shown on screen only.
    simplify_m
        Coverage simplification tolerance of the drawn units, in metres.

    Returns
    -------
    str
        A complete HTML document with no script and no external resource.

    Raises
    ------
    InputError
        Missing columns, no CRS, or schools missing from ``schools``, ``zones`` or ``table``.
    """
    _validate(units, zones, schools, table, current)
    if units.crs is not None and units.crs.to_epsg() != 4326:
        units = units.to_crs(4326)
    if schools.crs is not None and schools.crs.to_epsg() != 4326:
        schools = schools.to_crs(4326)
    plan = units["school_id"].astype(str)
    colours = plan_colours(units, schools, current=current)
    simple = simplify_coverage(units.geometry, tolerance_m=simplify_m)
    zone_geoms = {z: shapely.union_all(simple[plan == z].to_numpy()) for z in sorted(set(plan))}
    geoms = round_coordinates(simple, decimals=DECIMALS)
    cur = current.reindex(units.index) if current is not None else None
    changed = [
        bool(cur is not None and isinstance(c, str) and c != p)
        for p, c in zip(plan, cur if cur is not None else [None] * len(plan), strict=True)
    ]
    current_students = units["students"].groupby(cur.astype(object)).sum() if cur is not None else None

    n = len(table)
    two_columns = n > ONE_TABLE_MAX
    density = "dense" if two_columns else "compact" if n > 14 else "normal"
    metric_rows = summary_rows(district, status=status, band=band, travel_method=travel_method)
    metrics = "".join(f"<div><span>{html.escape(k)}</span><b>{v}</b></div>" for k, v in metric_rows)
    svg = _svg_map(geoms, list(plan), changed, zone_geoms, schools, colours)
    legend = [
        '<span><i style="border-top:0.7mm solid #111;height:0"></i>zone boundary</span>',
        '<span><i style="border-radius:50%;width:3mm;border:0.5mm solid #000"></i>school</span>',
    ]
    if any(changed):
        legend.append(
            '<span><i style="background:repeating-linear-gradient(45deg,#111 0 0.4mm,'
            'transparent 0.4mm 1.6mm);border:0.3mm dashed #111"></i>unit that changes school</span>'
        )

    def tab(part: pd.DataFrame, narrow: bool) -> str:
        return _table_html(
            part,
            colours,
            band=band,
            max_utilization=max_utilization,
            current_students=current_students,
            narrow=narrow,
        )

    if two_columns:
        half = math.ceil(n / 2)
        tables = tab(table.iloc[:half], True) + tab(table.iloc[half:], True)
    else:
        tables = tab(table, False)
    notes = [
        "Util. = students / capacity",
        "Low-inc. = low-income share of the zone's students",
        "Dev. = points from the district share",
        "travel in minutes",
    ]
    if band is not None:
        notes.append(f"flagged: outside the &plusmn;{band * 100:.0f}-point band or over capacity")
    link = (
        f' <span class="noprint">&middot; <a href="{html.escape(map_href)}">interactive map</a></span>'
        if map_href
        else ""
    )
    sub = f"Proposed attendance zones &middot; {len(schools)} schools &middot; {len(units)} units{link}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<title>{html.escape(title)}: summary</title><style>{_CSS}</style></head>\n<body><div class="page">'
        f'<h1>{html.escape(title)}</h1><div class="sub">{sub}</div>'
        f'<div class="metrics">{metrics}</div>{svg}<div class="legend">{"".join(legend)}</div>'
        f'<div class="tables {density}">{tables}</div>'
        f'<div class="foot">{" &middot; ".join(notes)}.</div>'
        "</div></body></html>\n"
    )
