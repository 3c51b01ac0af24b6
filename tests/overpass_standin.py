"""A stand-in Overpass API server on 127.0.0.1 for download tests.

It holds the nodes and ways of a real OSM file (read with pyosmium) and answers the two
endpoints osmnx uses the way the real server does:

- ``GET  <base>/status``: the plain-text status page (osmnx reads the free slots from line 5);
- ``POST <base>/interpreter`` with form field ``data``: a query of the form osmnx sends,
  ``[out:json]...;(way[..filters..](poly:"lat lon ...");>;);out;``. Tag filters (``["k"]``,
  ``["k"~"re"]``, ``["k"!~"re"]``) and the polygon are applied; the answer is Overpass JSON.

``fail_with`` makes the interpreter answer with that HTTP status and Overpass's HTML error page.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import osmium
import shapely
from shapely.geometry import Polygon

_CLAUSE = re.compile(r'\["([^"]+)"(?:(!?~)"([^"]*)")?\]')
_POLY = re.compile(r'\(poly:[\'"]([^\'"]+)[\'"]\)')
_STATUS = (
    "Connected as: 2130706433\n"
    "Current time: 2024-05-01T12:00:00Z\n"
    "Announced endpoint: none\n"
    "Rate limit: 2\n"
    "2 slots available now.\n"
    "Currently running queries (pid, space limit, time limit, start time):\n"
)
_ERROR_PAGE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n<html><head><title>OSM3S Response</title>'
    "</head><body><p><strong style=\"color:#FF0000\">Error</strong>: runtime error: {msg}</p></body></html>\n"
)


def read_osm_elements(path: Path) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """Nodes and ways of an OSM file as Overpass JSON elements, keyed by id."""
    nodes: dict[int, dict[str, Any]] = {}
    ways: dict[int, dict[str, Any]] = {}
    for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
        tags = {t.k: t.v for t in obj.tags}
        if obj.is_node():
            if obj.location.valid():
                el = {"type": "node", "id": obj.id, "lat": obj.location.lat, "lon": obj.location.lon}
                if tags:
                    el["tags"] = tags
                nodes[obj.id] = el
        elif obj.is_way():
            ways[obj.id] = {"type": "way", "id": obj.id, "nodes": [n.ref for n in obj.nodes], "tags": tags}
    return nodes, ways


def _passes(tags: dict[str, str], clauses: list[tuple[str, str, str]]) -> bool:
    for key, op, pattern in clauses:
        value = tags.get(key)
        if op == "":
            if value is None:
                return False
        elif op == "~":
            if value is None or not re.search(pattern, value):
                return False
        elif value is not None and re.search(pattern, value):  # "!~"
            return False
    return True


class OverpassStandIn:
    """A loopback Overpass server answering from one OSM file. Use as a context manager."""

    def __init__(self, osm_file: Path, *, fail_with: int | None = None) -> None:
        self.nodes, self.ways = read_osm_elements(osm_file)
        self.fail_with = fail_with
        self.queries: list[str] = []
        self.status_requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL to put in ``osmnx.settings.overpass_url``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api"

    def answer(self, query: str) -> dict[str, Any]:
        """The Overpass JSON answer to an osmnx network query."""
        way_part = query[query.index("way[") + 3: query.index("(poly:")]
        clauses = [(k, op or "", p or "") for k, op, p in _CLAUSE.findall(way_part)]
        coords = [float(v) for v in _POLY.search(query).group(1).split()]
        poly = Polygon(list(zip(coords[1::2], coords[0::2], strict=True)))  # lat lon pairs -> (lon, lat)
        inside = {nid for nid, n in self.nodes.items() if shapely.contains_xy(poly, n["lon"], n["lat"])}
        ways = [w for w in self.ways.values()
                if _passes(w["tags"], clauses) and inside.intersection(w["nodes"])]
        used = sorted({r for w in ways for r in w["nodes"] if r in self.nodes})
        return {
            "version": 0.6,
            "generator": "Overpass API 0.7.62.1 084b4234",
            "osm3s": {
                "timestamp_osm_base": "2024-05-01T11:59:00Z",
                "copyright": "The data included in this document is from www.openstreetmap.org."
                " The data is made available under ODbL.",
            },
            "elements": [self.nodes[n] for n in used] + ways,
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                return None

            def _send(self, code: int, body: str, content_type: str) -> None:
                data = body.encode("utf-8")
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/").endswith("/status"):
                    standin.status_requests += 1
                    self._send(200, _STATUS, "text/plain; charset=utf-8")
                else:
                    self._send(404, _ERROR_PAGE.format(msg="unknown endpoint"), "text/html; charset=utf-8")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode("utf-8"))
                query = form.get("data", [""])[0]
                standin.queries.append(query)
                if not self.path.rstrip("/").endswith("/interpreter"):
                    self._send(404, _ERROR_PAGE.format(msg="unknown endpoint"), "text/html; charset=utf-8")
                elif standin.fail_with is not None:
                    msg = "open64: 0 Success /osm3s_osm_base Dispatcher_Client::request_read_and_idx::timeout"
                    self._send(standin.fail_with, _ERROR_PAGE.format(msg=msg), "text/html; charset=utf-8")
                else:
                    self._send(200, json.dumps(standin.answer(query)), "application/json")

        return Handler

    def __enter__(self) -> OverpassStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
