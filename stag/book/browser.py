"""Open the built site in a real headless Chromium and check what a reader sees.

Uses Debian's ``chromium`` and ``chromedriver`` (``/usr/bin``) through Selenium with an
explicit driver path, so nothing is downloaded. The site is served over HTTP on a free
loopback port. For each page: no console errors, every image has a non-zero natural size,
maths typeset by MathJax (the packaged copy), and a screenshot.

:func:`screenshot_first_screens` keeps what a reader sees on opening each chapter, before
scrolling (``_build/screenshots/<chapter>.png``, written by ``stag book``): the place to check
that a chapter opens with its question and result, not with code.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,1600",
)
# A laptop screen: what a reader sees of a page before scrolling.
FIRST_SCREEN = (1280, 900)
SCREENSHOT_DIR = Path("_build") / "screenshots"


@dataclass
class PageCheck:
    """What the browser found on one page."""

    url: str
    title: str = ""
    console_errors: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    images: int = 0
    math_elements: int = 0
    math_rendered: int = 0
    screenshot: str = ""


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on ``http://127.0.0.1:<free port>``; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output readable
        pass


@contextmanager
def chromium() -> Iterator[object]:
    """A Selenium Chrome driver on Debian's Chromium, with browser console logging on."""
    # lazy: selenium is an optional (dev) dependency, needed only for the screenshots
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            raise FileNotFoundError(f"{path} not found: install Debian's chromium and chromium-driver "
                                    "(make browser-deps)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


_RENDERED_MATHS = "return document.querySelectorAll('.MathJax, .MathJax_CHTML, .MathJax_Display, .MathJax_SVG, mjx-container').length;"


def _wait_for_maths(driver, count: int, timeout: float = 30) -> int:
    """Wait until MathJax has typeset ``count`` elements (it works asynchronously, after its
    fonts load) or ``timeout`` seconds pass; return how many it typeset."""
    # lazy: selenium is an optional (dev) dependency, needed only for the screenshots
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, timeout, poll_frequency=0.2).until(
            lambda d: d.execute_script(_RENDERED_MATHS) >= count)
    except TimeoutException:
        pass
    return int(driver.execute_script(_RENDERED_MATHS))


def first_screen(driver, url: str, path: Path, size: tuple[int, int] = FIRST_SCREEN) -> Path:
    """Save what a reader sees of ``url`` before scrolling: a ``size`` (width, height px) PNG."""
    driver.set_window_size(*size)
    driver.get(url)
    math_count = int(driver.execute_script("return document.querySelectorAll('.math').length;"))
    if math_count:
        _wait_for_maths(driver, math_count)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path


def screenshot_first_screens(root: Path, html: Path | None = None, out: Path | None = None) -> list[Path]:
    """The first screen of every page of ``_toc.yml`` as ``out/<page>.png`` (default
    ``root/_build/screenshots``), from the built site ``html`` (default ``root/_build/html``).

    Raises:
        FileNotFoundError: the site is not built, or Chromium/chromedriver are missing.
    """
    html = Path(html) if html is not None else root / "_build" / "html"
    out = Path(out) if out is not None else root / SCREENSHOT_DIR
    if not (html / "index.html").exists():
        raise FileNotFoundError(f"{html / 'index.html'} not found: build the book first (stag book)")
    with serve(html) as base, chromium() as driver:
        return [first_screen(driver, url, out / f"{name}.png") for name, url in page_urls(root, base)]


def check_page(driver, url: str, screenshot: Path | None = None) -> PageCheck:
    """Load ``url`` and collect console errors, broken images and the maths status."""
    driver.get(url)
    driver.set_script_timeout(60)
    result = PageCheck(url=url, title=driver.title)
    math_count = driver.execute_script("return document.querySelectorAll('.math').length;")
    result.math_elements = int(math_count)
    if math_count:
        result.math_rendered = _wait_for_maths(driver, math_count)
    images = driver.execute_script(
        "return Array.from(document.images).map(i => [i.currentSrc || i.src, i.complete, i.naturalWidth, i.naturalHeight]);")
    result.images = len(images)
    result.broken_images = [src for src, complete, w, h in images if not complete or not w or not h]
    for entry in driver.get_log("browser"):
        if entry.get("level") == "SEVERE":
            result.console_errors.append(entry.get("message", ""))
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        height = driver.execute_script("return Math.min(document.body.scrollHeight, 12000);")
        driver.set_window_size(1280, max(800, int(height)))
        driver.save_screenshot(str(screenshot))
        driver.set_window_size(1280, 1600)
        result.screenshot = str(screenshot)
    return result


def search_hits(driver, base_url: str, query: str) -> int:
    """Number of results the site's search page lists for ``query``."""
    # lazy: selenium is an optional (dev) dependency, needed only for the screenshots
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base_url}/search.html?q={query}")
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "const s = document.querySelector('#search-results');"
            "return s && (s.querySelectorAll('li').length > 0 || /found no|did not match/i.test(s.innerText));"))
    return len(driver.find_elements(By.CSS_SELECTOR, "#search-results li"))


def page_urls(root: Path, base_url: str) -> list[tuple[str, str]]:
    """``(name, url)`` for every page in ``_toc.yml`` (root first)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())

    def pages(entries):
        for c in entries:
            yield c["file"]
            yield from pages(c.get("sections", []))

    files = [toc["root"], *pages(c for part in toc.get("parts", []) for c in part["chapters"])]
    return [(Path(f).name, f"{base_url}/{f}.html") for f in files]
