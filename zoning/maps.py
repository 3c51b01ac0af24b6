"""Folium maps of a plan. Functions here return map objects; they never write files."""

from __future__ import annotations

import html
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

#: Colour-blind-safe qualitative palette (Okabe-Ito, then Tol's muted), cycled for many zones.
PALETTE = [
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499",
]


def zone_colours(school_ids: list[str]) -> dict[str, str]:
    """A colour per school, stable for a given set of ids."""
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sorted(school_ids))}


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
    travel_method: str | None = None,
) -> folium.Map:
    """An interactive map of a plan.

    Parameters
    ----------
    units
        Units with ``school_id``, ``students``, ``low_income``, ``travel_time_s`` (EPSG:4326).
    zones
        Dissolved zones indexed by ``school_id``.
    schools
        Schools (contract of :mod:`zoning.schools`).
    table
        Per-school metrics from :func:`zoning.metrics.zone_table`.
    district
        District metrics from :func:`zoning.metrics.district_metrics`.
    title
        Scenario name, shown as the title.
    current
        Today's assignment, to show changes.
    travel_method
        How travel times were made (``TravelTimes.method``), shown in the summary panel so a
        straight-line estimate is never mistaken for road travel times.
    """
    colours = zone_colours(list(schools.index))
    minx, miny, maxx, maxy = units.total_bounds
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None, control_scale=True)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    folium.TileLayer("OpenStreetMap", name="Basemap (online)", show=False).add_to(m)

    u = units[["school_id", "students", "low_income", "travel_time_s", "geometry"]].copy()
    u["geoid"] = u.index.astype(str)
    u["share"] = (u["low_income"] / u["students"].where(u["students"] > 0)).round(3)
    u["minutes"] = (u["travel_time_s"] / 60).round(1)
    u["students"] = u["students"].round(1)
    if current is not None:
        u["current_school"] = current.reindex(u.index).fillna("").astype(str)
        u["changed"] = (u["current_school"] != "") & (u["current_school"] != u["school_id"])
    else:
        u["current_school"] = ""
        u["changed"] = False
    fields = ["geoid", "students", "share", "school_id", "minutes", "current_school", "changed"]
    aliases = ["Unit", "Students", "Low-income share", "School", "Travel (min)", "Current school", "Changes"]
    folium.GeoJson(
        u[[*fields, "geometry"]].reset_index(drop=True),
        name="Proposed zones (units)",
        style_function=lambda f: {
            "fillColor": colours.get(f["properties"]["school_id"], "#888888"),
            "color": "#555555", "weight": 0.4, "fillOpacity": 0.6,
        },
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases),
    ).add_to(m)
    folium.GeoJson(
        zones.reset_index()[["school_id", "geometry"]],
        name="Zone outlines",
        style_function=lambda f: {"fill": False, "color": "#000000", "weight": 2.5},
    ).add_to(m)
    if current is not None and bool(u["changed"].any()):
        folium.GeoJson(
            u.loc[u["changed"], ["geoid", "school_id", "current_school", "geometry"]].reset_index(drop=True),
            name="Units that change school",
            style_function=lambda f: {"fill": False, "color": "#D00000", "weight": 2, "dashArray": "4 3"},
        ).add_to(m)
    for s, row in schools.iterrows():
        t = table.loc[s]
        popup = (
            f"<b>{html.escape(str(row['name']))}</b> ({html.escape(str(s))})<br>"
            f"Capacity {int(t['capacity'])}<br>Students {t['students']:.0f}<br>"
            f"Utilization {t['utilization']:.0%}<br>Low-income {t['low_income_share']:.1%}"
            f" ({t['deviation'] * 100:+.1f} pts)<br>Mean travel {t['mean_travel_s'] / 60:.1f} min"
        )
        folium.CircleMarker(
            [row.geometry.y, row.geometry.x], radius=7, color="#000000", weight=2,
            fill=True, fill_color=colours[s], fill_opacity=1.0,
            popup=folium.Popup(popup, max_width=300), tooltip=str(row["name"]),
        ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    summary = (
        f"<div style='position:fixed;top:10px;left:50px;z-index:1000;background:white;padding:6px 10px;"
        f"border:1px solid #999;font:13px sans-serif'><b>{html.escape(title)}</b><br>"
        f"Solver: {html.escape(status)}<br>"
        f"Students {district['students']:.0f} &middot; low-income {district['district_low_income_share']:.1%}"
        f"<br>Worst deviation {district['worst_deviation'] * 100:.1f} pts &middot; dissimilarity"
        f" {district['dissimilarity']:.3f}<br>Mean travel {district['mean_travel_s'] / 60:.1f} min"
        + (f"<br>Travel times: {html.escape(travel_method)}" if travel_method else "")
        + "</div>"
    )
    m.get_root().html.add_child(folium.Element(summary))
    m.get_root().header.add_child(folium.Element(f"<title>{html.escape(title)}</title>"))
    return m
