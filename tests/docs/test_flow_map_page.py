"""The flow map is a picture in the built site, with no network: the docs are built with
``mkdocs build --strict``, and headless Chromium (Debian's ``/usr/bin/chromium``, driven by
Playwright, every request outside the built site refused) opens the pizzeria's flow page
and finds the drawn diagram: an SVG with a box per command and a shape per event, not the
diagram's source text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from docs.test_docs_examples import ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def unavailable(what: str, reason: object) -> None:
    """Skip (or, under CI=true, fail) because ``what`` cannot be used."""
    message = f"{what} is not available ({reason})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The docs site, built as CI builds it."""
    folder = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture(scope="module")
def chromium() -> str:
    if shutil.which("chromium") is None or not os.access(CHROMIUM, os.X_OK):
        unavailable("Chromium (apt-get install chromium)", f"no {CHROMIUM}")
    return CHROMIUM


def test_the_flow_page_shows_the_drawn_diagram_offline(
    site: Path, chromium: str, tmp_path: Path
) -> None:
    try:
        from playwright.sync_api import Route, sync_playwright
    except ImportError as error:
        unavailable("Playwright for Python (pip install playwright)", error)
    page_file = site / "reference" / "pizzeria-flow" / "index.html"
    refused: list[str] = []

    def offline(route: Route) -> None:
        if not route.request.url.startswith("file://"):
            refused.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", offline)
            page.goto(page_file.as_uri())
            diagram = page.locator("svg.facta-flow")
            diagram.wait_for(state="visible", timeout=10_000)
            box: Any = diagram.bounding_box()
            commands = page.locator("svg.facta-flow g.facta-cmd text").all_text_contents()
            events = page.locator("svg.facta-flow g.facta-evt").count()
            body = page.locator("article").inner_text()
            diagram.screenshot(path=str(tmp_path / "flow-map.png"))
        finally:
            browser.close()

    assert box["width"] > 300 and box["height"] > 200
    assert "PlaceOrder" in commands
    assert events > 10
    assert "flowchart LR" not in body
    assert not refused, f"the page asked the network for {refused}"
