"""Download TIGER/Line block groups and ACS tables from the Census Bureau, cached on disk.

Every response is validated (a zip holding a shapefile; a JSON array of rows) before it is
written to the cache, atomically, under a name derived from the request URL (the API key is
never part of the URL that names the file, never logged and never written). A request whose
file is in the cache is served from it without touching the network, so a second run works
offline. Base URLs come from :mod:`zoning.settings` and can be overridden per scenario
(``[census] api_url``, ``tiger_url``), which is also how the tests point them at a server on
127.0.0.1.

URLs (``{year}`` is the ACS 5-year release and the TIGER/Line vintage, e.g. 2022)::

    {tiger_url}/TIGER{year}/BG/tl_{year}_{state}_bg.zip           block groups of a state
    {tiger_url}/TIGER{year}/PLACE/tl_{year}_{state}_place.zip     places (cities, towns)
    {api_url}/{year}/acs/acs5?get=NAME,B01001_004E,B01001_004M,...
        &for=block%20group:*&in=state:25%20county:017[&key=...]
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, settings
from .errors import DownloadError
from .io import atomic_write_bytes

log = logging.getLogger(__name__)

#: ACS variables fetched per table (estimate ``E`` and margin of error ``M`` of each).
ACS_VARIABLES: dict[str, tuple[str, ...]] = {
    "B01001": ("B01001_004", "B01001_005", "B01001_028", "B01001_029"),
    "C17002": tuple(f"C17002_00{i}" for i in range(1, 9)),
    "B19013": ("B19013_001",),
}


@dataclass(frozen=True)
class CensusSource:
    """Where and how to download.

    Attributes
    ----------
    api_url, tiger_url
        Roots of the Census Data API and of the TIGER/Line files.
    year
        ACS 5-year release (its last year) and TIGER/Line vintage.
    api_key
        Optional Census API key (sent as ``key=``; never cached, logged or shown).
    cache_folder
        Folder of cached responses; ``settings.cache_folder / "census"`` when None.
    refresh
        Download again even when a cached copy exists (the copy is used if that fails).
    timeout_s
        Seconds to wait for a server.
    dataset
        API dataset path, ``acs/acs5`` (ACS 5-year detailed tables).
    """

    api_url: str = settings.census_api_url
    tiger_url: str = settings.tiger_url
    year: int = settings.census_year
    api_key: str | None = field(default=None, repr=False)
    cache_folder: Path | None = None
    refresh: bool = False
    timeout_s: float = settings.download_timeout_s
    dataset: str = "acs/acs5"

    def folder(self) -> Path:
        """The cache folder used."""
        return Path(self.cache_folder) if self.cache_folder else Path(settings.cache_folder) / "census"


@dataclass
class DistrictFiles:
    """Cached files of one state/county download."""

    block_groups: Path
    acs: dict[str, Path]
    places: Path | None = None

    def all(self) -> dict[str, Path]:
        """Every file by role: ``block_groups``, ``places``, ``b01001``, ``c17002``, ``b19013``."""
        files = {"block_groups": self.block_groups, **self.acs}
        if self.places is not None:
            files["places"] = self.places
        return files


def tiger_url(layer: str, state: str, *, source: CensusSource) -> str:
    """URL of a statewide TIGER/Line zip: ``layer`` is ``"bg"`` (block groups) or ``"place"``."""
    folders = {"bg": "BG", "place": "PLACE"}
    if layer not in folders:
        raise ValueError(f"unknown TIGER/Line layer {layer!r}; use one of {sorted(folders)}")
    y = source.year
    return f"{source.tiger_url.rstrip('/')}/TIGER{y}/{folders[layer]}/tl_{y}_{state}_{layer}.zip"


def acs_url(table: str, state: str, county: str, *, source: CensusSource) -> str:
    """Census API URL (without the key) for one ACS table's block groups in a county."""
    variables = ",".join(f"{v}{kind}" for v in ACS_VARIABLES[table] for kind in ("E", "M"))
    query = urllib.parse.urlencode(
        {"get": f"NAME,{variables}", "for": "block group:*", "in": f"state:{state} county:{county}"},
        quote_via=urllib.parse.quote, safe=":,*",
    )
    return f"{source.api_url.rstrip('/')}/{source.year}/{source.dataset}?{query}"


def cache_path(url: str, name: str, *, source: CensusSource) -> Path:
    """File of the cache that holds the response to ``url`` (a key-free URL)."""
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    stem, dot, suffix = name.partition(".")
    return source.folder() / f"{stem}-{digest}{dot}{suffix}"


def _with_key(url: str, key: str | None) -> str:
    if not key:
        return url
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}key={urllib.parse.quote(key, safe='')}"


def fetch(url: str, name: str, *, source: CensusSource, validate: Callable[[bytes, str], None],
          with_key: bool = False) -> Path:
    """Return the cached file for ``url``, downloading (and validating) it when not cached.

    Parameters
    ----------
    url
        The request, without any API key.
    name
        A readable file name for the cache (``tl_2022_25_bg.zip``); a hash of ``url`` is added.
    source
        Cache folder, timeout, refresh flag and API key.
    validate
        Raises :class:`DownloadError` when the bytes are not what the URL should give.
    with_key
        Append ``source.api_key`` to the request (Census API requests only).

    Raises
    ------
    DownloadError
        The server cannot be reached or answers with an error or with the wrong content, and
        no cached copy exists.
    """
    path = cache_path(url, name, source=source)
    if path.is_file() and not source.refresh:
        log.info("using cached %s for %s", path, url)
        return path
    request = urllib.request.Request(
        _with_key(url, source.api_key if with_key else None),
        headers={"User-Agent": f"zoning/{__version__} (school attendance zones)"},
    )
    try:
        with urllib.request.urlopen(request, timeout=source.timeout_s) as response:
            status = response.status
            data = response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()[:300].decode("utf-8", errors="replace").strip()
        error = DownloadError(
            f"GET {url} failed with HTTP {exc.code} {exc.reason}: {body!r}; "
            + _fix_for(exc.code, url)
        )
        return _fallback(path, error)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        error = DownloadError(
            f"cannot download {url} ({reason}) and no copy is cached at {path}; connect to the"
            " internet once (later runs use the cache), or give local files with `[units] path` and"
            " `[census] b01001`/`c17002`/`b19013`"
        )
        return _fallback(path, error)
    if status == 204 or not data:
        return _fallback(path, DownloadError(
            f"GET {url} returned no data (HTTP {status}); check `[census] state`, `county` and `year`"
        ))
    validate(data, url)
    atomic_write_bytes(path, data)
    log.info("downloaded %s (%d bytes) to %s", url, len(data), path)
    return path


def _fallback(path: Path, error: DownloadError) -> Path:
    if path.is_file():
        log.warning("%s; using the cached copy %s", error, path)
        return path
    raise error


def _fix_for(code: int, url: str) -> str:
    if code in (401, 403):
        return ("the Census API refused the key; check the key in the environment variable named by"
                " `[census] api_key_env`")
    if code == 404:
        return ("no such file or dataset; check `[census] year` (TIGER/Line and ACS 5-year block groups"
                " exist from 2013) and `[census] tiger_url`/`api_url`")
    if code == 400:
        return "the request was rejected; check `[census] state`, `county` and `year`"
    return "try again later (the Census servers may be busy)"


def validate_zip(data: bytes, url: str) -> None:
    """A TIGER/Line download is a zip archive holding a ``.shp`` file."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise DownloadError(
            f"GET {url} did not return a zip archive (it starts with {data[:60]!r}); check"
            " `[census] tiger_url` and `year`"
        )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
    if not any(n.lower().endswith(".shp") for n in names):
        raise DownloadError(f"the zip from {url} holds no shapefile (found {names[:6]})")


def validate_api_json(data: bytes, url: str) -> None:
    """A Census API answer is a JSON array of rows whose first row is the header."""
    text = data.decode("utf-8", errors="replace")
    try:
        rows = json.loads(text)
    except json.JSONDecodeError:
        raise DownloadError(
            f"the Census API answered {url} with text, not JSON: {text.strip()[:200]!r}; an"
            " 'Invalid Key' page means the key in `[census] api_key_env` is wrong, an 'error:'"
            " line names the bad part of the request"
        ) from None
    if not (isinstance(rows, list) and rows and all(isinstance(r, list) for r in rows)):
        raise DownloadError(f"the Census API answer to {url} is not an array of rows: {text[:200]!r}")
    if len(rows) < 2:
        raise DownloadError(f"the Census API answer to {url} has a header but no rows; check the county")


def download_block_groups(state: str, *, source: CensusSource | None = None) -> Path:
    """The statewide TIGER/Line block-group zip (``tl_{year}_{state}_bg.zip``), cached."""
    source = source or CensusSource()
    url = tiger_url("bg", state, source=source)
    return fetch(url, f"tl_{source.year}_{state}_bg.zip", source=source, validate=validate_zip)


def download_places(state: str, *, source: CensusSource | None = None) -> Path:
    """The statewide TIGER/Line place zip (``tl_{year}_{state}_place.zip``), cached."""
    source = source or CensusSource()
    url = tiger_url("place", state, source=source)
    return fetch(url, f"tl_{source.year}_{state}_place.zip", source=source, validate=validate_zip)


def download_acs(table: str, state: str, county: str, *, source: CensusSource | None = None) -> Path:
    """One ACS 5-year table for the block groups of a county as a Census API JSON file, cached.

    ``table`` is one of ``B01001``, ``C17002``, ``B19013``; estimates and margins of error of
    the variables in :data:`ACS_VARIABLES` are requested.
    """
    source = source or CensusSource()
    if table not in ACS_VARIABLES:
        raise ValueError(f"unsupported ACS table {table!r}; use one of {sorted(ACS_VARIABLES)}")
    url = acs_url(table, state, county, source=source)
    name = f"acs5_{source.year}_{table}_{state}{county}.json"
    return fetch(url, name, source=source, validate=validate_api_json, with_key=True)


def download_district(state: str, county: str, *, source: CensusSource | None = None,
                      place: bool = False) -> DistrictFiles:
    """Block groups, the three ACS tables and (optionally) places for a state and county.

    Parameters
    ----------
    state, county
        FIPS codes as text (``"25"``, ``"017"``).
    source
        URLs, year, key and cache.
    place
        Also fetch the state's place polygons (to clip to a city).

    Raises
    ------
    DownloadError
        When a file can be neither downloaded nor found in the cache.
    """
    source = source or CensusSource()
    block_groups = download_block_groups(state, source=source)
    acs = {t.lower(): download_acs(t, state, county, source=source) for t in sorted(ACS_VARIABLES)}
    places = download_places(state, source=source) if place else None
    return DistrictFiles(block_groups, acs, places)
