"""Headless Chromium for the browser tests (tests/test_browser.py, tests/test_site.py).

Debian's ``chromium`` and ``chromium-driver`` (``apt-get install chromium chromium-driver``, which
.ci/run does), driven by Selenium (the test extra). Where they are missing a test skips with
that message, except with RLCOURSE_REQUIRE_BROWSER=1 (set by .ci/run), where it fails instead.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("RLCOURSE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = (os.environ.get("RLCOURSE_CHROMEDRIVER") or shutil.which("chromedriver")
                or "/usr/bin/chromedriver")
HOW_TO_GET_IT = ("this test needs Chromium and its driver: `sudo apt-get install chromium "
                 "chromium-driver` (Debian/Ubuntu), or point RLCOURSE_CHROMIUM and "
                 "RLCOURSE_CHROMEDRIVER at them; and Selenium: `make install`")
_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
         "--disable-background-networking", "--disable-component-update")


def unavailable(why: str):
    # CI installs the browser (.ci/run) and sets RLCOURSE_REQUIRE_BROWSER=1: never skip there.
    if os.environ.get("RLCOURSE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"RLCOURSE_REQUIRE_BROWSER=1, but {why}: {HOW_TO_GET_IT}")
    pytest.skip(f"{why}: {HOW_TO_GET_IT}")


def start(*, performance_log: bool = False):
    """A headless Chromium driver; ``performance_log``: DevTools' log of every request a page
    makes (Network.requestWillBeSent), read with ``driver.get_log("performance")``."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("Selenium is not installed")
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        unavailable(f"no Chromium at {CHROMIUM} or no chromedriver at {CHROMEDRIVER}")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in _ARGS:
        options.add_argument(arg)
    if performance_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(120)
    return driver
