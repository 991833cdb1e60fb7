"""The course's website (``make site``, rlcourse_authoring/site.py).

The fast tests render a small synthetic notebook (the tags and blocks the course's notebooks do
not use yet: ``deeper`` cells, hints in ``<details>``, hidden tests) and read the HTML. The slow
one builds the whole site as ``make site`` does, serves it from 127.0.0.1 and reads every page
in headless Chromium: the math is typeset (no raw ``$$`` in the visible text, no TeX error),
every image is shown, nothing is requested from any host but 127.0.0.1 (Chrome's DevTools
performance log, every request of the page), and every internal link resolves (its file is
served and its ``#anchor`` exists). It prints its figures and saves a screenshot of one page
(``$RLCOURSE_BROWSER_SHOTS``, default /tmp, ``rlcourse-site.png``).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import chromium
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from rlcourse_authoring import site
from rlcourse_authoring.build import student_version, with_colab_cell

ROOT = Path(__file__).resolve().parent.parent
SECRET = "HIDDEN_ASSERTION_NOBODY_MAY_SEE"
BUILD_LIMIT_S = 120


def _grade(grade_id, solution, grade=False, points=None, locked=False):
    meta = {"schema_version": 3, "grade": grade, "solution": solution, "locked": locked,
            "grade_id": grade_id}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def synthetic() -> nbformat.NotebookNode:
    """A notebook with an exercise (hint in <details>, hidden test) and a run of deeper cells."""
    cells = [
        new_markdown_cell("# 99 · Synthetic\n\nThe update $\\Delta\\theta = \\alpha g$."),
        new_markdown_cell(
            "### Exercise: double it\n\nWrite `double(x)`.\n\n<details><summary>Hint</summary>"
            "\n\nMultiply by $2$.\n\n</details>\n",
            metadata=_grade("ex_text", False, locked=True)),
        new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
                      "    ### END SOLUTION\n", metadata=_grade("double", True)),
        new_code_cell(f"assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(3) == 6, "
                      f"'{SECRET}'\n### END HIDDEN TESTS\nprint('passed')",
                      metadata=_grade("check_double", False, grade=True, points=1, locked=True),
                      outputs=[{"output_type": "stream", "name": "stdout", "text": "passed\n"}],
                      execution_count=2),
        new_markdown_cell("## A closer look at the variance\n\nWhy $\\mathrm{Var}$ grows.",
                          metadata={"tags": ["deeper"]}),
        new_code_cell("print('deeper output')", metadata={"tags": ["deeper"]},
                      outputs=[{"output_type": "stream", "name": "stdout",
                                "text": "deeper output\n"}], execution_count=3),
        new_markdown_cell("## Back on the main path"),
    ]
    cells[2].execution_count = 1
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3",
                                                            "display_name": "Python 3",
                                                            "language": "python"}})
    return with_colab_cell(nb, None)


@pytest.fixture(scope="module")
def page_body() -> str:
    nb = synthetic()
    return site.notebook_html(nb, student_version(nb))


def _outside(tag: str, body: str) -> str:
    """``body`` without its ``<details class="TAG">`` blocks (not nested in this notebook)."""
    return re.sub(rf'<details class="{tag}">.*?</details>', "", body, flags=re.S)


def test_an_exercise_shows_the_blank_version_its_hint_and_the_solution_behind_a_click(page_body):
    solutions = re.findall(r'<details class="solution"><summary>Show the solution</summary>'
                           r"(.*?)</details>", page_body, re.S)
    assert len(solutions) == 1, page_body
    visible = _outside("solution", page_body)
    assert "NotImplementedError" in visible and "YOUR CODE HERE" in visible
    assert "2</span> <span class=\"o\">*</span>" not in visible  # `return 2 * x`, highlighted
    assert '<span class="mi">2</span>' in solutions[0] and "BEGIN SOLUTION" not in solutions[0]
    assert "<details><summary>Hint</summary>" in page_body and "Multiply by $2$" in page_body
    assert "with the solution, the check prints:" in visible and "passed" in visible


def test_hidden_tests_never_reach_the_page(page_body):
    assert SECRET not in page_body
    assert "HIDDEN TESTS" not in page_body
    assert "assert double(2)" in re.sub(r"<[^>]+>", "", page_body)


def test_a_run_of_deeper_cells_is_one_collapsed_block_titled_by_its_heading(page_body):
    blocks = re.findall(r"<details class=\"deeper\"( open)?><summary>(.*?)</summary>(.*?)"
                        r"</details>", page_body, re.S)
    assert len(blocks) == 1, page_body
    is_open, summary, inner = blocks[0]
    assert not is_open
    assert "A closer look at the variance" in summary and "deeper" in summary
    assert "Why $\\mathrm{Var}$ grows." in inner and "deeper output" in inner
    assert "A closer look" not in inner  # the heading is the summary, not repeated
    assert "Back on the main path" in _outside("deeper", page_body)


def test_the_colab_cell_is_left_out_of_the_page(page_body):
    assert "COURSE_REPOSITORY" not in page_body


@pytest.mark.parametrize("url, link", [
    ("https://github.com/someone/rlcourse", "https://colab.research.google.com/github/someone/"
                                           "rlcourse/blob/main/notebooks/99_x.ipynb"),
    ("https://github.com/someone/rlcourse.git", "https://colab.research.google.com/github/"
                                               "someone/rlcourse/blob/main/notebooks/99_x.ipynb"),
    ("https://gitlab.com/someone/rlcourse", None),
    (None, None),
])
def test_open_in_colab_only_with_a_github_address(url, link):
    assert site.colab_link(url, "99_x.ipynb") == link
    page = site.Page("99_x.html", "99 · X", "<p>x</p>", notebook="99_x.ipynb")
    text = site.render_page(page, [page], "course", url)
    assert 'href="notebooks/99_x.ipynb" download' in text
    assert ("Open in Colab" in text) == (link is not None)
    if link:
        assert f'href="{link}"' in text
    assert "colab.research" not in text or link


def test_repository_links_in_the_docs_become_pages_or_github_or_text():
    body = site.markdown("[conv](conventions.md), [nb](../notebooks/01_a.ipynb#x), "
                         "[tool](../tools/test_portable.py), [web](https://example.org)")
    pages = {"docs/conventions.md": "conventions.html", "notebooks/01_a.ipynb": "01_a.html"}
    local = site._doc_links(body, "docs/instructors.md", pages, None)
    assert '<a href="conventions.html">conv</a>' in local
    assert '<a href="01_a.html#x">nb</a>' in local
    assert "tool" in local and "test_portable.py" not in local  # no dead link, its text stays
    assert 'href="https://example.org"' in local
    hub = site._doc_links(body, "docs/instructors.md", pages, "https://github.com/o/r")
    assert 'href="https://github.com/o/r/blob/main/tools/test_portable.py"' in hub


def test_math_is_kept_whole_before_the_markdown_is_parsed():
    # a formula's continuation line that starts with "+" is not a new list item (as JupyterLab)
    body = site.markdown("* $a = b\n  + c$: the sum, `$HOME` is code\n")
    assert body.count("<li>") == 1 and "$a = b\n  + c$" in body, body
    assert "<code>$HOME</code>" in body
    assert "$\\mu&lt;1$" in site.markdown("$\\mu<1$")  # escaped once, for MathJax to read


def test_heading_ids_are_githubs():
    body = site._unique_ids(site.markdown("## Public solutions mean public hidden tests\n\n"
                                          "## 2. $G_t$: the return\n\n## Twice\n\n## Twice\n"))
    assert 'id="public-solutions-mean-public-hidden-tests"' in body
    assert 'id="2-g_t-the-return"' in body
    assert 'id="twice"' in body and 'id="twice-1"' in body


# ---- The whole site, in a browser -----------------------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test reads the browser's log, not the server's
        pass


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "site"
    start = time.perf_counter()
    pages = site.build_site(out)
    return out, pages, time.perf_counter() - start


@pytest.fixture(scope="module")
def served(built):
    out = built[0]
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    driver = chromium.start(performance_log=True)
    yield driver
    driver.quit()


_READ_PAGE = r"""
const done = arguments[arguments.length - 1];
const startup = window.MathJax && MathJax.startup && MathJax.startup.promise;
if (!startup) { done({error: "MathJax did not load"}); return; }
startup.then(() => {
  // open every collapsed block, so that the text and images inside are read too
  document.querySelectorAll("details").forEach(d => { d.open = true; });
  const imgs = [...document.images];
  // prose without code and typeset math: a $ or a TeX command left there is math not typeset
  const prose = document.querySelector("article").cloneNode(true);
  prose.querySelectorAll("pre, code, mjx-container, script, style").forEach(e => e.remove());
  done({
    rawTex: prose.textContent.match(/.{0,30}(\$|\\[A-Za-z]{2,}).{0,30}/g) || [],
    math: document.querySelectorAll("mjx-container").length,
    texErrors: document.querySelectorAll("mjx-merror").length,
    text: document.querySelector("article").innerText,
    images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80)),
    links: [...document.querySelectorAll("a[href]")].map(a => a.href),
  });
}, e => done({error: String(e)}));
"""


def _requests(driver) -> tuple[list[str], list[str]]:
    """(every URL requested, every failed or >= 400 response) since the last call."""
    urls, failed = [], []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            urls.append(params["request"]["url"])
        elif message["method"] == "Network.responseReceived" and params["response"]["status"] >= 400:
            failed.append(f"{params['response']['status']} {params['response']['url']}")
        elif message["method"] == "Network.loadingFailed" and not params.get("canceled"):
            failed.append(f"{params.get('errorText')} (request {params.get('requestId')})")
    return urls, failed


@pytest.mark.slow
def test_the_site_builds_fast_and_reads_right_in_a_browser(built, served, browser):
    _, pages, seconds = built
    assert seconds <= BUILD_LIMIT_S, f"the site took {seconds:.0f} s to build (limit {BUILD_LIMIT_S})"
    files = [p.file for p in pages]
    notebooks = sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))
    assert files == ["index.html", *[n.replace(".ipynb", ".html") for n in notebooks],
                     "conventions.html", "instructors.html"]

    totals = {"pages": 0, "math": 0, "images": 0, "requests": 0, "outside": 0}
    outside, links, per_page = [], set(), []
    _requests(browser)  # drop what came before
    for page in pages:
        browser.get(served + page.file)
        seen = browser.execute_async_script(_READ_PAGE)
        assert "error" not in seen, f"{page.file}: {seen['error']}"
        assert seen["texErrors"] == 0, f"{page.file}: {seen['texErrors']} TeX errors"
        assert "$$" not in seen["text"], f"{page.file}: raw $$ left in the visible text"
        assert not seen["rawTex"], f"{page.file}: TeX left untypeset: {seen['rawTex'][:5]}"
        assert not seen["broken"], f"{page.file}: images not shown: {seen['broken']}"
        if page.notebook:
            assert seen["math"] > 0, f"{page.file}: no math typeset"
            assert seen["images"] == _stored_images(ROOT / "solutions" / page.notebook), page.file
        urls, failed = _requests(browser)
        assert not failed, f"{page.file}: failed requests: {failed}"
        outside += [u for u in urls if not _local(u)]
        links |= {u for u in seen["links"] if _local(u)}
        per_page.append(f"{page.file} {seen['math']} math, {seen['images']} images")
        totals["pages"] += 1
        totals["math"] += seen["math"]
        totals["images"] += seen["images"]
        totals["requests"] += len(urls)
    totals["outside"] = len(outside)
    assert not outside, f"requests to other hosts than 127.0.0.1: {outside[:10]}"

    for link in sorted(links):  # every internal link: its file is served, its anchor exists
        path, _, fragment = link.partition("#")
        with urllib.request.urlopen(path, timeout=30) as response:
            assert response.status == 200, link
            body = response.read()
        if fragment:
            assert f'id="{urllib.parse.unquote(fragment)}"'.encode() in body, f"no anchor: {link}"

    shot = Path(os.environ.get("RLCOURSE_BROWSER_SHOTS", "/tmp")) / "rlcourse-site.png"
    browser.get(served + "01_update_equation.html")
    browser.execute_async_script("const done = arguments[arguments.length - 1]; "
                                 "MathJax.startup.promise.then(() => done(true));")
    browser.save_screenshot(str(shot))
    print(f"\nsite: built in {seconds:.1f} s; {totals['pages']} pages, {totals['math']} math "
          f"elements, {totals['images']} images, {totals['requests']} requests, "
          f"{totals['outside']} outside 127.0.0.1, {len(links)} internal links; screenshot {shot}"
          f"\n  " + "\n  ".join(per_page))


def _local(url: str) -> bool:
    parsed = urllib.parse.urlparse(url)
    return parsed.scheme in ("data", "blob", "about") or parsed.hostname == "127.0.0.1"


def _stored_images(path: Path) -> int:
    """Images a notebook's stored outputs hold (PNG, SVG, and GIFs inside HTML outputs)."""
    count = 0
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/html" in data:
                count += len(re.findall(r"<img\b", "".join(data["text/html"])))
            elif any(m in data for m in ("image/png", "image/jpeg", "image/gif",
                                         "image/svg+xml")):
                count += 1
    return count
