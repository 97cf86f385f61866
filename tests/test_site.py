"""The built site works in a real browser: every page of the table of contents is checked.

The site is built once per session with warnings as errors, unless ``COURSE_SITE_DIR``
points at an already built ``_build/html`` (``make test`` builds it just before). Pages are
served from 127.0.0.1 and opened in Debian's Chromium through Playwright.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml
from notebook_checks import REPO_ROOT

pytestmark = pytest.mark.site

CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PAGE_BUDGET_BYTES = 5 * 1024 * 1024
MEDIA_TIMEOUT_MS = 15_000
ERROR_SELECTORS = ".output.traceback, .output.error, .output.stderr, div.stderr"
WIDGET_SELECTORS = (
    ".jupyter-widgets, .widget-view, .jp-OutputArea-output .widget-area, "
    'script[type="application/vnd.jupyter.widget-view+json"]'
)

WAIT_FOR_IMAGES = """async (timeout) => {
  const images = Array.from(document.images);
  images.forEach((img) => { img.loading = "eager"; });
  await Promise.all(images.map((img) => img.complete ? null : Promise.race([
    new Promise((done) => { img.onload = done; img.onerror = done; }),
    new Promise((done) => setTimeout(done, timeout)),
  ])));
  return images.map((img) => ({src: img.currentSrc.slice(0, 120), complete: img.complete,
                               width: img.naturalWidth}));
}"""

AUDIO_DURATIONS = """async (timeout) => Promise.all(
  Array.from(document.querySelectorAll("audio")).map((audio) => new Promise((done) => {
    const report = () => done({duration: audio.duration, error: audio.error && audio.error.code});
    if (audio.readyState >= 1) { report(); return; }
    audio.addEventListener("loadedmetadata", report, {once: true});
    audio.addEventListener("error", report, {once: true});
    setTimeout(report, timeout);
    audio.preload = "metadata";
    audio.load();
  }))
)"""


VIEWPORT = {"width": 1280, "height": 900}
SHARP_FACTOR = 1.9  # output PNGs carry at least this many pixels per displayed pixel

OPEN_FOLDED = """() => {
  document.querySelectorAll("details").forEach((details) => { details.open = true; });
}"""

# The text column is the article's content box; every code box, output, player and figure
# of a cell is measured against it. Elements that are not displayed are skipped.
LAYOUT = r"""() => {
  const article = document.querySelector("article.bd-article") || document.body;
  const box = article.getBoundingClientRect();
  const style = getComputedStyle(article);
  const left = box.left + parseFloat(style.paddingLeft);
  const right = box.right - parseFloat(style.paddingRight);
  const shown = (el) => el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== "hidden";
  const cells = Array.from(article.querySelectorAll("div.cell"));
  const where = (el) => {
    const cell = el.closest("div.cell");
    const code = cell && cell.querySelector("div.cell_input pre");
    return {cell: cells.indexOf(cell),
            code: code ? code.textContent.trim().split("\n")[0].slice(0, 60) : ""};
  };
  const pres = Array.from(article.querySelectorAll("div.cell_input pre, div.cell_output pre"))
    .filter(shown).map((pre) => ({...where(pre), scroll: pre.scrollWidth, client: pre.clientWidth,
      part: pre.closest("div.cell_input") ? "input" : "output"}));
  const players = Array.from(article.querySelectorAll("audio")).filter(shown).map((audio) => {
    const a = audio.getBoundingClientRect();
    const figure = audio.closest("figure");
    const caption = figure && figure.querySelector("figcaption");
    const c = caption && shown(caption) ? caption.getBoundingClientRect() : null;
    return {...where(audio), left: a.left, right: a.right, top: a.top,
            label: caption ? caption.textContent.trim() : "",
            label_box: c && {left: c.left, right: c.right, bottom: c.bottom, height: c.height}};
  });
  const images = Array.from(article.querySelectorAll("div.cell_output img")).filter(shown)
    .map((img) => ({...where(img),
      src: img.currentSrc.slice(0, 30) + "…" + img.currentSrc.slice(-20),
      intended: parseFloat(img.getAttribute("width")) || parseFloat(img.style.width) || null,
      shown: img.getBoundingClientRect().width, natural: img.naturalWidth,
      vector: /\.svg$|^data:image\/svg/.test(img.currentSrc)}));
  return {column: {left: left, right: right, width: right - left}, pres, players, images};
}"""


def toc_pages(toc_path: Path = REPO_ROOT / "_toc.yml") -> list[str]:
    """Return the document names of the table of contents (root first), then ``index``."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf8"))
    pages = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                pages.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key, []))

    walk([toc])
    return [*pages, "index"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``page`` with every page of the table of contents."""
    if "page" in metafunc.fixturenames:
        metafunc.parametrize("page", toc_pages())


@dataclass
class PageReport:
    """What one page did in the browser: errors, media, widgets, requests and weight."""

    final_url: str
    error_outputs: int
    traceback_text: bool
    script_errors: list[str]
    images: list[dict]
    audio: list[dict]
    widgets: int
    solutions: int
    layout: dict = field(default_factory=dict)
    foreign_requests: list[str] = field(default_factory=list)
    bytes_loaded: int = 0
    largest: list[str] = field(default_factory=list)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serve files without logging every request to stderr."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Log nothing."""


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """Return the built site folder, building the book strictly when none is given."""
    given = os.environ.get("COURSE_SITE_DIR")
    if given:
        site = Path(given)
        if not (site / "index.html").is_file():
            pytest.fail(f"COURSE_SITE_DIR={given} holds no index.html: run `make book` first")
        return site
    command = [
        str(Path(sys.executable).with_name("jupyter-book")), "build", str(REPO_ROOT),
        "--warningiserror", "--nitpick", "--keep-going",
    ]
    env = {key: value for key, value in os.environ.items() if key != "COURSE_FAST"}
    built = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if built.returncode != 0:
        pytest.fail(f"the book build failed:\n{built.stdout[-4000:]}\n{built.stderr[-4000:]}")
    return REPO_ROOT / "_build" / "html"


@pytest.fixture(scope="session")
def base_url(site_dir: Path) -> Iterator[str]:
    """Return the URL of a local HTTP server for the site (127.0.0.1, a free port)."""
    handler = functools.partial(QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Return a headless Debian Chromium driven by Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _local_file(site_dir: Path, base_url: str, url: str) -> Path | None:
    """Return the site file that a same-origin URL serves, or None."""
    if not url.startswith(base_url):
        return None
    relative = unquote(urlparse(url).path).lstrip("/") or "index.html"
    path = site_dir / relative
    return path / "index.html" if path.is_dir() else path


def inspect_page(browser: object, site_dir: Path, base_url: str, page: str) -> PageReport:
    """Return the report of loading ``page`` once in a fresh browser context (1280 x 900).

    After the media checks every folded part (solutions, hidden inputs) is opened, so that the
    layout is measured on everything a reader can unfold.
    """
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    requests: list[str] = []
    script_errors: list[str] = []
    tab.on("request", lambda request: requests.append(request.url))
    tab.on("pageerror", lambda error: script_errors.append(str(error)))
    tab.goto(f"{base_url}{page}.html", wait_until="load")
    if page == "index":  # a redirect to the root page of the table of contents
        tab.wait_for_url(f"{base_url}{toc_pages()[0]}.html")
    tab.wait_for_load_state("networkidle")
    images = tab.evaluate(WAIT_FOR_IMAGES, MEDIA_TIMEOUT_MS)
    audio = tab.evaluate(AUDIO_DURATIONS, MEDIA_TIMEOUT_MS)
    tab.evaluate(OPEN_FOLDED)
    titles = tab.locator(".solution.dropdown .admonition-title")
    for index in range(titles.count()):
        titles.nth(index).click()
    tab.wait_for_timeout(500 if titles.count() else 0)  # the dropdowns animate open
    layout = tab.evaluate(LAYOUT)
    report = PageReport(
        final_url=tab.url,
        error_outputs=tab.locator(ERROR_SELECTORS).count(),
        traceback_text="Traceback (most recent call last)" in tab.inner_text("body"),
        script_errors=script_errors,
        images=images,
        audio=audio,
        widgets=tab.locator(WIDGET_SELECTORS).count(),
        solutions=tab.locator(".solution.dropdown").count(),
        layout=layout,
    )
    context.close()
    local = set()
    for url in requests:
        scheme = urlparse(url).scheme
        if scheme in {"data", "blob", "about"}:
            continue
        if urlparse(url).hostname != "127.0.0.1":
            report.foreign_requests.append(url)
        elif (path := _local_file(site_dir, base_url, url)) and path.is_file():
            local.add(path)
    report.bytes_loaded = sum(path.stat().st_size for path in local)
    by_size = sorted(local, key=lambda path: path.stat().st_size, reverse=True)[:5]
    report.largest = [
        f"{path.relative_to(site_dir)} ({path.stat().st_size / 1024:.0f} kB)" for path in by_size
    ]
    return report


@pytest.fixture(scope="session")
def reports(browser: object, site_dir: Path, base_url: str) -> dict[str, PageReport]:
    """Return a cache of page reports, filled on first use of each page."""
    return {}


@pytest.fixture
def report(page: str, reports: dict[str, PageReport], browser: object, site_dir: Path,
           base_url: str) -> PageReport:
    """Return the (cached) browser report of ``page``."""
    if page not in reports:
        reports[page] = inspect_page(browser, site_dir, base_url, page)
    return reports[page]


def test_page_loads(page: str, report: PageReport, site_dir: Path) -> None:
    assert (site_dir / f"{page}.html").is_file(), f"{page}.html was not built"
    assert not report.script_errors, f"JavaScript errors: {report.script_errors}"


def test_no_error_output(report: PageReport) -> None:
    assert report.error_outputs == 0, "error, traceback or stderr output on the page"
    assert not report.traceback_text, "a Python traceback is printed on the page"


def test_images_decoded(report: PageReport) -> None:
    broken = [img["src"] for img in report.images if not (img["complete"] and img["width"] > 0)]
    assert not broken, f"images that did not decode: {broken}"


def test_audio_has_duration(report: PageReport) -> None:
    bad = [clip for clip in report.audio
           if clip["error"] or not (clip["duration"] and 0 < clip["duration"] < float("inf"))]
    assert not bad, f"audio players without a finite duration: {bad}"


def test_no_blank_widgets(report: PageReport) -> None:
    assert report.widgets == 0, "widget placeholders on the page: the static fallback is missing"


def test_only_local_requests(report: PageReport) -> None:
    assert not report.foreign_requests, f"requests leave 127.0.0.1: {report.foreign_requests}"


def test_page_weight_within_budget(report: PageReport) -> None:
    megabytes = report.bytes_loaded / 1024**2
    assert report.bytes_loaded <= PAGE_BUDGET_BYTES, (
        f"page loads {megabytes:.1f} MB (> 5 MB); largest files: {report.largest}"
    )


def test_code_and_output_fit_the_column(page: str, report: PageReport) -> None:
    wide = [
        f"cell {box['cell']} {box['part']} is {box['scroll']} px wide in a {box['client']} px "
        f"box (first line: {box['code']!r})"
        for box in report.layout["pres"] if box["scroll"] > box["client"] + 1
    ]
    assert not wide, f"{page}: {len(wide)} code/output boxes scroll sideways at 1280 px:\n" + (
        "\n".join(wide))


def test_players_lie_in_the_column_under_their_label(page: str, report: PageReport) -> None:
    column = report.layout["column"]
    bad = []
    for player in report.layout["players"]:
        where = f"cell {player['cell']} player {player['label']!r}"
        if player["right"] > column["right"] + 1 or player["left"] < column["left"] - 1:
            bad.append(f"{where} spans x {player['left']:.0f}-{player['right']:.0f}, outside "
                       f"the column {column['left']:.0f}-{column['right']:.0f}")
        label = player["label_box"]
        if not player["label"] or not label or label["height"] <= 0:
            bad.append(f"{where} has no visible label")
        elif label["bottom"] > player["top"] + 1 or not (
                label["left"] < player["right"] and label["right"] > player["left"]):
            bad.append(f"{where}: the label is not right above the player")
    assert not bad, f"{page}: " + "\n".join(bad)


def test_output_images_are_shown_at_their_size_and_sharp(page: str, report: PageReport) -> None:
    column = report.layout["column"]
    bad = []
    for image in report.layout["images"]:
        where = f"cell {image['cell']} image {image['src']}"
        intended = image["intended"] or image["natural"]
        if image["shown"] < intended - 1:
            bad.append(f"{where} is shrunk to {image['shown']:.0f} px (meant {intended:.0f} px)")
        if image["shown"] > column["width"] + 1:
            bad.append(f"{where} is {image['shown']:.0f} px, wider than the column")
        if not image["vector"] and image["natural"] < SHARP_FACTOR * image["shown"] - 1:
            bad.append(f"{where} has {image['natural']} px for {image['shown']:.0f} px shown "
                       f"(< {SHARP_FACTOR}x: blurry)")
    assert not bad, f"{page}: {len(bad)} images:\n" + "\n".join(bad)


def test_index_redirects_to_the_intro(browser: object, site_dir: Path, base_url: str) -> None:
    report = inspect_page(browser, site_dir, base_url, "index")
    assert report.final_url.endswith("book/intro.html")


def test_solutions_start_collapsed_and_open_on_click(
    browser: object, base_url: str, site_dir: Path
) -> None:
    chapters = [page for page in toc_pages() if page.startswith("notebooks/")]
    assert chapters, "no chapter pages in _toc.yml"
    context = browser.new_context()
    tab = context.new_page()
    for chapter in chapters:
        tab.goto(f"{base_url}{chapter}.html", wait_until="load")
        solutions = tab.locator(".solution.dropdown")
        assert solutions.count() >= 2, f"{chapter}: fewer than 2 solution dropdowns"
        for index in range(solutions.count()):
            body = solutions.nth(index).locator("section").first
            assert body.count() == 1 and not body.is_visible(), (
                f"{chapter}: solution {index + 1} is visible before it is opened"
            )
        solutions.first.locator(".admonition-title").click()
        solutions.first.locator("section").first.wait_for(state="visible", timeout=5_000)
    context.close()


def test_bibliography_lists_every_entry(site_dir: Path) -> None:
    bib = (REPO_ROOT / "book" / "references.bib").read_text(encoding="utf8")
    entries = re.findall(r"^@\w+\{", bib, re.MULTILINE)
    html = (site_dir / "book" / "references.html").read_text(encoding="utf8")
    assert len(entries) >= 18
    assert html.count('role="doc-biblioentry"') == len(entries)


def test_launch_and_download_buttons(site_dir: Path) -> None:
    repository = "machinelistening/machine-listening-course"
    for page in (p for p in toc_pages() if p.startswith("notebooks/")):
        html = (site_dir / f"{page}.html").read_text(encoding="utf8")
        name = page.split("/")[-1]
        assert f"colab.research.google.com/github/{repository}/blob/main/{page}.ipynb" in html
        assert f"mybinder.org/v2/gh/{repository}/main?" in html
        assert f"_sources/notebooks/{name}.ipynb" in html, f"{page}: no notebook download"


def test_results_page_opens_with_headline_and_figure(site_dir: Path) -> None:
    html = (site_dir / "book" / "results.html").read_text(encoding="utf8")
    assert 'class="results-headline' in html, "the Results page has no headline table"
    assert "course-results-auc.png" in html, "the Results page has no AUC figure"
    assert (site_dir / "_images" / "course-results-auc.png").is_file()
    assert html.index("results-headline") < html.index("course-results-auc.png") < html.index(
        'class="results-table'), "headline, figure and detail tables are out of order"
