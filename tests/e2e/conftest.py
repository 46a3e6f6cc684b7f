from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import CHROMIUM, CHROMIUM_FLAGS, require_chromium
from tests.e2e.lab import Lab
from tests.redis_servers import running_redis

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"

pytestmark = require_chromium()


@pytest.fixture(scope="module")
def lab_redis() -> Iterator[str]:
    with running_redis() as url:
        yield url


@pytest.fixture(scope="module")
def lab(lab_redis: str) -> Iterator[Lab]:
    """JupyterLab serving a copy of notebooks/ (demo project included)."""
    workdir = Path(tempfile.mkdtemp(prefix="gl-e2e-"))
    root = workdir / "root"
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = Lab(root=root, redis_url=lab_redis, workdir=workdir)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"))
    context.close()


def screenshot(page: Any, name: str) -> None:
    """Save a screenshot of a key state under test-artifacts/e2e/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.fixture
def jp_server_cleanup() -> None:
    """Override pytest-jupyter's autouse clean-up of in-process servers: these tests run a
    separate ``jupyter lab`` process, and Playwright's sync API owns the event loop here."""


@pytest.fixture
def jp_asyncio_loop() -> None:
    """Override pytest-jupyter's autouse loop: closing it would close the loop Playwright's sync
    API runs in."""
