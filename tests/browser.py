"""Headless Chromium driven over the DevTools protocol, for tests of HTML outputs.

Chromium is started with ``--remote-debugging-pipe``: protocol messages are JSON objects
separated by NUL bytes on two pipes (file descriptors 3 and 4 of the browser), so no port is
opened and nothing beyond the standard library is needed. One :class:`Browser` serves many
pages; each :meth:`Browser.open` gives a :class:`Page` that records console errors, uncaught
exceptions and every request the page makes.

Example::

    with Browser.launch() as browser:
        page = browser.open(Path("map.html"), width=1280, height=800)
        assert page.errors == [] and page.requests == []
        page.screenshot(Path("test-artifacts/map.png"))
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Where Debian installs Chromium; ``ZONING_CHROMIUM`` overrides it.
CHROMIUM = os.environ.get("ZONING_CHROMIUM", "/usr/bin/chromium")

#: Flags for a quiet, private, offline-friendly headless browser.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]


def chromium_path() -> str | None:
    """The Chromium executable, or None when it is not installed."""
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserError(RuntimeError):
    """The browser died, timed out or answered a command with an error."""


@dataclass
class Page:
    """One tab, attached in flattened mode; events are collected as they arrive."""

    browser: Browser
    session: str
    target: str
    url: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    loaded: bool = False
    load_s: float = 0.0

    def send(self, method: str, params: dict[str, Any] | None = None, *, timeout_s: float = 30.0) -> Any:
        """Send a command to this page and return its result."""
        return self.browser.send(method, params, session=self.session, timeout_s=timeout_s)

    def evaluate(self, expression: str, *, timeout_s: float = 30.0) -> Any:
        """Evaluate a JavaScript expression (promises awaited) and return its JSON value."""
        res = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            timeout_s=timeout_s,
        )
        if "exceptionDetails" in res:
            raise BrowserError(f"JavaScript failed: {_describe_exception(res['exceptionDetails'])}")
        return res["result"].get("value")

    def click(self, x: float, y: float) -> None:
        """A real left click (press and release) at viewport coordinates."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            params: dict[str, Any] = {
                "type": kind,
                "x": x,
                "y": y,
                "button": "left",
                "clickCount": 0 if kind == "mouseMoved" else 1,
            }
            if kind == "mouseMoved":
                params["button"] = "none"
            self.send("Input.dispatchMouseEvent", params)

    def hover(self, x: float, y: float) -> None:
        """Move the mouse to viewport coordinates."""
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y, "button": "none"})

    def screenshot(self, path: Path) -> Path:
        """Save a PNG of the viewport."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def pdf(self, path: Path) -> Path:
        """Print the page to PDF using its CSS ``@page`` size."""
        data = self.send(
            "Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True}, timeout_s=60.0
        )["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def settle(self, seconds: float = 0.2) -> None:
        """Let pending events arrive (animations, late console messages)."""
        self.browser.pump(seconds)

    def close(self) -> None:
        """Close the tab."""
        self.browser.send("Target.closeTarget", {"targetId": self.target})
        self.browser.pages.pop(self.session, None)

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            if params.get("type") in ("error", "assert"):
                self.errors.append(f"console.{params['type']}: {text}")
            elif params.get("type") == "warning":
                self.warnings.append(text)
        elif method == "Runtime.exceptionThrown":
            self.errors.append(f"uncaught: {_describe_exception(params['exceptionDetails'])}")
        elif method == "Log.entryAdded":
            entry = params["entry"]
            if entry.get("level") == "error":
                self.errors.append(
                    f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip()
                )
            elif entry.get("level") == "warning":
                self.warnings.append(entry.get("text", ""))
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if url != self.url and not url.startswith(("data:", "blob:", "about:")):
                self.requests.append(url)
        elif method == "Network.loadingFailed":
            if params.get("errorText") and not params.get("canceled"):
                self.errors.append(f"network: {params['errorText']}")
        elif method == "Page.loadEventFired":
            self.loaded = True


def _describe_exception(details: dict[str, Any]) -> str:
    exc = details.get("exception") or {}
    return str(exc.get("description") or details.get("text") or details)


class Browser:
    """A headless Chromium process with a fresh profile, spoken to over the DevTools pipe."""

    def __init__(
        self, proc: subprocess.Popen[bytes], to_browser: int, from_browser: int, profile: Path
    ) -> None:
        self.proc = proc
        self._out = to_browser
        self._in = from_browser
        self._buffer = b""
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self.profile = profile
        self.pages: dict[str, Page] = {}

    @classmethod
    def launch(cls, *, executable: str | None = None) -> Browser:
        """Start Chromium; raise :class:`BrowserError` when it is missing or does not answer."""
        exe = executable or chromium_path()
        if not exe:
            raise BrowserError(
                f"Chromium not found at {CHROMIUM}; install it with `apt-get install chromium`"
            )
        profile = Path(tempfile.mkdtemp(prefix="zoning-chromium-"))
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()

        def wire() -> None:  # runs in the child before exec: the browser reads fd 3, writes fd 4
            a, b = os.dup(cmd_r), os.dup(res_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire,
            pass_fds=(3, 4),
        )
        os.close(cmd_r)
        os.close(res_w)
        browser = cls(proc, cmd_w, res_r, profile)
        try:
            browser.send("Browser.getVersion", timeout_s=30.0)
        except BaseException:
            browser.close()
            raise
        return browser

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Ask the browser to quit, then make sure it is gone and its profile removed."""
        if self.proc.poll() is None:
            try:
                self._write({"id": self._new_id(), "method": "Browser.close"})
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=10)
        for fd in (self._out, self._in):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    # -- protocol --------------------------------------------------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _write(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\0"
        while data:
            n = os.write(self._out, data)
            data = data[n:]

    def _read(self, timeout_s: float) -> bool:
        """Read what is available within ``timeout_s``; dispatch complete messages."""
        ready, _, _ = select.select([self._in], [], [], max(timeout_s, 0.0))
        if not ready:
            return False
        chunk = os.read(self._in, 1 << 20)
        if not chunk:
            raise BrowserError(f"Chromium closed the DevTools pipe (exit code {self.proc.poll()})")
        self._buffer += chunk
        while b"\0" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\0", 1)
            message = json.loads(raw)
            if "id" in message:
                self._replies[message["id"]] = message
            elif "method" in message:
                page = self.pages.get(message.get("sessionId", ""))
                if page is not None:
                    page._event(message["method"], message.get("params", {}))
        return True

    def pump(self, seconds: float) -> None:
        """Process incoming events for ``seconds``."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self._read(left)

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str | None = None,
        timeout_s: float = 30.0,
    ) -> Any:
        """Send a command and wait for its reply; raise :class:`BrowserError` on an error reply."""
        msg_id = self._new_id()
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._write(message)
        end = time.monotonic() + timeout_s
        while msg_id not in self._replies:
            left = end - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no reply to {method} within {timeout_s} s")
            self._read(left)
        reply = self._replies.pop(msg_id)
        if "error" in reply:
            raise BrowserError(f"{method} failed: {reply['error']}")
        return reply.get("result", {})

    # -- pages -----------------------------------------------------------------------------

    def open(
        self, path: Path | str, *, width: int = 1280, height: int = 800, timeout_s: float = 30.0
    ) -> Page:
        """Open a file (or URL) in a new tab and wait for its load event.

        Console errors, exceptions and requests are recorded from before navigation starts.
        ``page.load_s`` is the time from the navigation command to the load event.
        """
        url = Path(path).resolve().as_uri() if isinstance(path, Path) else path
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session, target, url=url)
        self.pages[session] = page
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        start = time.monotonic()
        nav = page.send("Page.navigate", {"url": url})
        if nav.get("errorText"):
            raise BrowserError(f"cannot open {url}: {nav['errorText']}")
        end = start + timeout_s
        while not page.loaded:
            left = end - time.monotonic()
            if left <= 0:
                raise BrowserError(f"{url} did not finish loading within {timeout_s} s")
            self._read(left)
        page.load_s = time.monotonic() - start
        return page
