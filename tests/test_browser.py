"""A learner's first minutes, in a real browser: headless Chromium drives the JupyterLab that
`make lab` starts (tests/labserver.py) on a scratch copy of the course.

It opens the server's front page (which must be the learner's copy of 00_start_here), runs every
cell, and reads what the learner reads: the environment check says it is ready; the unfinished
exercise's check says so. Then it types a wrong answer (the mean instead of the sum), saves, runs
the check again and reads the check's words; the save went to my-notebooks/, and notebooks/ is
untouched. Last, solutions/00_start_here.ipynb opens from the same JupyterLab, and nbgrader's
instructor menu is absent.

Needs Debian's chromium and chromium-driver (`apt-get install chromium chromium-driver`, which
.ci/run does) and Selenium (the test extra); skips with that message where they are missing,
except with RLCOURSE_REQUIRE_BROWSER=1 (set by .ci/run), where it fails instead.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import chromium
import labserver
import pytest

from rlcourse_authoring import lab

WRONG_ANSWER_WORDS = "you returned the mean reward; the return is the sum"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    driver = chromium.start()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = labserver.start(tmp_path_factory.mktemp("lab"))
    yield running
    labserver.stop(running)


def _wait(driver, condition, timeout: float, what: str):
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:  # JupyterLab redraws cells: an element found a moment ago may be gone; look again
        return WebDriverWait(driver, timeout, poll_frequency=0.25,
                             ignored_exceptions=[StaleElementReferenceException]).until(condition)
    except TimeoutException:
        shot = Path(os.environ.get("RLCOURSE_BROWSER_SHOTS", "/tmp")) / "rlcourse-browser.png"
        driver.save_screenshot(str(shot))
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} "
                             f"(screenshot: {shot})") from None


def _by_css(selector):
    from selenium.webdriver.common.by import By

    return (By.CSS_SELECTOR, selector)


def _cells(driver):
    return driver.find_elements(*_by_css(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell"))


def _cell_with(driver, text: str, notebook: Path):
    """The cell of the visible notebook whose source (in ``notebook``, as saved) contains
    ``text``, scrolled into view (JupyterLab draws cells lazily)."""
    import json

    sources = ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"]]
    index = next((i for i, src in enumerate(sources) if text in src), None)
    assert index is not None, f"no cell of {notebook.name} contains {text!r}"
    cell = _wait(driver, lambda d: len(_cells(d)) == len(sources) and _cells(d)[index], 30,
                 f"cell {index} of {notebook.name}")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", cell)
    _wait(driver, lambda d: text in _text(_cells(d)[index]), 30, f"cell {index} to show {text!r}")
    return _cells(driver)[index]


def _text(element) -> str:
    # textContent, not .text: JupyterLab skips rendering cells out of view (content-visibility)
    return element.get_attribute("textContent") or ""


def _output(cell) -> str:
    return "\n".join(_text(o) for o in cell.find_elements(*_by_css(".jp-OutputArea-output")))


def _kernel_idle(driver) -> bool:
    """The status bar says the notebook's kernel is connected and idle."""
    return any("(ipykernel) | Idle" in _text(e)
               for e in driver.find_elements(*_by_css(".jp-StatusBar-Widget")))


def _accept_kernel_dialog(driver) -> None:
    # JupyterLab asks which kernel to use when "Run All" comes before the session is connected;
    # a learner would press Select (Python 3 is the only kernel offered).
    for dialog in driver.find_elements(*_by_css(".jp-Dialog")):
        if "Select Kernel" in _text(dialog):
            dialog.find_element(*_by_css(".jp-mod-accept")).click()


def _menu(driver, menu: str, item: str) -> None:
    """Click ``menu`` in the menu bar, then its entry labelled ``item``."""
    for label in driver.find_elements(*_by_css(".lm-MenuBar-itemLabel")):
        if label.text == menu:
            label.click()
            break
    else:
        raise AssertionError(f"no {menu!r} menu")

    def entry(d):
        return next((e for e in d.find_elements(*_by_css(".lm-Menu-itemLabel"))
                     if e.text == item), None)

    _wait(driver, entry, 10, f"the menu entry {item!r}").click()


def _open_first_notebook(driver, server) -> None:
    driver.get(f"{server.base}/?token={server.token}")
    _wait(driver, lambda d: "/lab/tree/" in d.current_url and _cells(d), 120,
          "JupyterLab to open a notebook")
    assert driver.current_url.split("?")[0].endswith(
        f"/lab/tree/{lab.WORK_DIR}/{lab.FIRST_NOTEBOOK}"), driver.current_url
    _wait(driver, _kernel_idle, 120, "the kernel to start")


def test_first_hour_in_a_browser(browser, server):
    from selenium.webdriver.common.keys import Keys

    course = server.root / "notebooks" / lab.FIRST_NOTEBOOK
    course_version = course.read_bytes()
    _open_first_notebook(browser, server)

    # 1. Run all: the environment check says ready; the blank exercise's check says unfinished.
    _menu(browser, "Run", "Run All Cells")
    time.sleep(1)
    _accept_kernel_dialog(browser)
    env_cell = _cell_with(browser, "runtime.check_environment()", course)
    _wait(browser, lambda d: "All set." in _output(env_cell), 180,
          "the environment check to print 'All set.'")
    check_cell = _cell_with(browser, "start_here.check_total_reward(total_reward)", course)
    _wait(browser, lambda d: "NotImplemented" in _output(check_cell)
          or "not implemented" in _output(check_cell), 60, "the check of the blank exercise")

    # 2. A wrong answer, typed as a learner types it (the editor indents and closes brackets).
    answer = _cell_with(browser, "def total_reward(rewards):", course)
    editor = answer.find_element(*_by_css(".cm-content"))
    editor.click()
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys(Keys.DELETE)
    editor.send_keys("def total_reward(rewards):", Keys.ENTER, "return float(np.mean(rewards))")
    _wait(browser, lambda d: "np.mean(rewards))" in _text(answer.find_element(
        *_by_css(".cm-content"))), 10, "the typed answer")
    editor.send_keys(Keys.SHIFT, Keys.ENTER)  # run the answer, move to its check
    _wait(browser, _kernel_idle, 30, "the answer cell to run")
    check_cell = _cell_with(browser, "start_here.check_total_reward(total_reward)", course)
    check_cell.find_element(*_by_css(".jp-InputArea-prompt")).click()
    browser.switch_to.active_element.send_keys(Keys.SHIFT, Keys.ENTER)
    _wait(browser, lambda d: WRONG_ANSWER_WORDS in _output(check_cell), 60,
          f"the check's words {WRONG_ANSWER_WORDS!r}")

    # 3. Save: the learner's copy holds the answer, the course's notebooks/ is untouched.
    browser.switch_to.active_element.send_keys(Keys.CONTROL, "s")
    mine = server.root / lab.WORK_DIR / lab.FIRST_NOTEBOOK
    deadline = time.monotonic() + 30
    while "np.mean(rewards)" not in mine.read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "np.mean(rewards)" in mine.read_text(), "the save did not reach my-notebooks/"
    assert (server.root / "notebooks" / lab.FIRST_NOTEBOOK).read_bytes() == course_version

    # 4. No instructor tools in the learner's JupyterLab.
    menus = {m.text for m in browser.find_elements(*_by_css(".lm-MenuBar-itemLabel"))}
    assert "Run" in menus and not any("nbgrader" in m.lower() for m in menus), menus
    assert "Create Assignment" not in browser.page_source

    # 5. solutions/ is reachable from the same JupyterLab.
    browser.get(f"{server.base}/lab/tree/solutions/{lab.FIRST_NOTEBOOK}?token={server.token}")
    _wait(browser, lambda d: any("### BEGIN SOLUTION" in _text(c) for c in _cells(d)), 120,
          "solutions/00_start_here.ipynb to open with its solved exercise")
    assert "Could not find path" not in browser.page_source
