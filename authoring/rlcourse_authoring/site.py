"""The course as a static website: ``python -m rlcourse_authoring.site`` (what ``make site`` runs).

Writes ``_build/site/`` (``index.html`` at its root): the README's overview, one page per
notebook in course order (``solutions/NN_*.ipynb`` with their **stored** outputs, never
re-executed, so a page shows exactly what nbval compares), the conventions and the instructors'
guide, each with a sidebar and previous/next links. Every notebook page offers its student
version for download and, when ``[project.urls] Repository`` is a GitHub address, an "open in
Colab" link built from it (no address, no link).

Why this and not a site generator: jupyter-book 2 fetches its theme from the network and fails
offline; jupyter-book 1 (Sphinx) builds offline but brings a theme, a CDN MathJax to switch off
and a dozen packages for five pages. Here nbconvert's own Markdown renderer (which leaves TeX to
MathJax) and highlighter are the only tools; the layout is ``authoring/site/page.html`` and
``site.css``. MathJax 3.2.2 comes from the npm registry (``authoring/site/package.json`` and its
lock, ``npm ci``) and is copied into the site as one file, ``tex-svg-full.js``: every TeX
extension and the SVG glyphs are inside it, so a page loads nothing but its own folder's files.

What a page shows, cell by cell:

- the Colab install cell (cell 0) is left out: the page's "open in Colab" link replaces it;
- exercise (nbgrader solution) cells show the student's blank version, then the solution behind
  a click (``<details class="solution">``); hints written as ``<details>`` in the exercise's
  text render collapsed, as in JupyterLab;
- every cell's *source* is the student version's, so hidden tests never reach the site; the
  outputs are the solution's stored ones;
- a run of consecutive cells tagged ``deeper`` renders as one collapsed ``<details
  class="deeper">`` whose summary is the run's first heading.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from rlcourse_authoring.build import COLAB_ROLE, course_url, dumps, student_version, with_colab_cell

ROOT = Path(__file__).resolve().parents[2]  # the clone: authoring/rlcourse_authoring/
ASSETS = ROOT / "authoring" / "site"  # page.html, site.css, package.json + package-lock.json
DEFAULT_OUT = ROOT / "_build" / "site"
NPM_DIR = ROOT / "_build" / "npm"  # where `npm ci` installs MathJax (ignored, reused)
MATHJAX_FILE = "tex-svg-full.js"
# The branch the Colab links point at: one setting, so a renamed branch is one edit.
DEFAULT_BRANCH = "main"
DEEPER_TAG = "deeper"
_FROM_PYPROJECT = object()
# The other pages, in the sidebar's order: (source, page file, title)
DOCS_BEFORE = [("README.md", "index.html", "Overview")]
DOCS_AFTER = [("docs/conventions.md", "conventions.html", "Conventions"),
              ("docs/instructors.md", "instructors.html", "For instructors")]
GITHUB = re.compile(r"^https?://(?:www\.)?github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")
# What an output shows, in order of preference (as JupyterLab picks).
MIME_ORDER = ("text/html", "image/svg+xml", "image/png", "image/jpeg", "image/gif",
              "text/markdown", "text/latex", "text/plain")


@dataclass
class Page:
    """One page of the site: ``file`` (e.g. ``01_update_equation.html``), its sidebar title and
    the HTML of its article; ``notebook`` is the notebook's name for notebook pages."""

    file: str
    title: str
    body: str
    notebook: str | None = None


def colab_link(url: str | None, notebook: str, branch: str = DEFAULT_BRANCH) -> str | None:
    """Colab's address for ``notebooks/<notebook>`` of the GitHub repository ``url``, or None
    when ``url`` is unset or not a GitHub address (Colab opens notebooks from GitHub only)."""
    match = GITHUB.match(url or "")
    if not match:
        return None
    owner, repo = match.groups()
    return (f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/"
            f"notebooks/{notebook}")


# ---- Markdown and code ------------------------------------------------------------------------

def markdown(text: str) -> str:
    """Markdown to HTML with TeX left for MathJax, and GitHub's heading ids (so that
    ``#some-heading`` links written for GitHub work here too).

    The math is taken out before the Markdown is parsed and put back after, as JupyterLab does
    (``_remove_math``): nbconvert's own math handling runs after the block parser, which reads
    a formula's continuation line that starts with ``+`` as a new list item.
    """
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    stripped, math = _remove_math(text)
    body = markdown2html_mistune(stripped)
    return _github_ids(re.sub(r"@@(\d+)@@", lambda m: math[int(m.group(1))], body))


# JupyterLab's removeMath (@jupyterlab/rendermime, latex.ts), itself MathJax's, in Python.
_MATH_SPLIT = re.compile(r"(\$\$?|\\(?:begin|end)\{[a-z]*\*?\}|\\[{}$]|[{}]|(?:\n\s*)+|@@\d+@@|"
                         r"\\\\(?:\(|\)|\[|\]))", re.I)


def _remove_math(text: str) -> tuple[str, list[str]]:
    """``text`` with each formula replaced by ``@@N@@``, and the formulas (HTML-escaped).

    A formula runs from ``$``, ``$$``, ``\\(``, ``\\[`` or ``\\begin{env}`` to its closing
    delimiter with balanced braces, never across a blank line; ``$`` inside code spans and
    fenced code is not a delimiter.
    """
    math: list[str] = []
    code = "`" in text or "~~~" in text
    if code:  # hide the $ of code spans and fences from the split (~D), and ~ itself (~T)
        text = text.replace("~", "~T")
        text = re.sub(r"^(?P<fence>`{3,}|(?:~T){3,})[^`\n]*\n[\s\S]*?^(?P=fence)`*$",
                      lambda m: m.group(0).replace("$", "~D"), text, flags=re.M)
        text = re.sub(r"(^|[^\\])(`+)([^\n]*?[^`\n])\2(?!`)",
                      lambda m: m.group(0).replace("$", "~D"), text, flags=re.M)

    def detilde(t: str) -> str:
        return re.sub(r"~([TD])", lambda m: "~" if m.group(1) == "T" else "$", t) if code else t

    blocks = _MATH_SPLIT.split(text.replace("\r\n", "\n").replace("\r", "\n"))

    def process(i: int, j: int) -> None:
        block = "".join(blocks[i:j + 1])
        block = block.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for k in range(i + 1, j + 1):
            blocks[k] = ""
        blocks[i] = f"@@{len(math)}@@"
        math.append(detilde(block))

    start = end = last = None
    braces = 0
    i = 1
    while i < len(blocks):
        block = blocks[i]
        if block.startswith("@"):  # text that looks like a marker is kept as a "formula"
            blocks[i] = f"@@{len(math)}@@"
            math.append(block)
        elif start is not None:
            if block == end:
                if braces:
                    last = i
                else:
                    process(start, i)
                    start = end = last = None
            elif re.search(r"\n.*\n", block):  # a blank line ends any formula
                if last is not None:
                    i = last
                    process(start, i)
                start = end = last = None
                braces = 0
            elif block == "{":
                braces += 1
            elif block == "}" and braces:
                braces -= 1
        elif block in ("$", "$$"):
            start, end, braces = i, block, 0
        elif block in ("\\\\(", "\\\\["):
            start, end, braces = i, "\\\\)" if block.endswith("(") else "\\\\]", 0
        elif block[1:6] == "begin":
            start, end, braces = i, "\\end" + block[6:], 0
        i += 2
    if start is not None and last is not None:
        process(start, last)
    return detilde("".join(blocks)), math


_HEADING = re.compile(r'<h([1-6]) id="([^"]*)">(.*?)<a class="anchor-link" href="#\2">&#182;</a>'
                      r"</h\1>", re.S)


def _slug(text: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text)).strip().lower()
    return re.sub(r"[^\w\- ]", "", plain).replace(" ", "-")


def _github_ids(body: str) -> str:
    def replace(m: re.Match) -> str:
        level, inner = m.group(1), m.group(3)
        return (f'<h{level} id="{_slug(inner)}">{inner}<a class="anchor-link" '
                f'href="#{_slug(inner)}">&#182;</a></h{level}>')
    return _HEADING.sub(replace, body)


def _unique_ids(body: str) -> str:
    """Headings with the same text on one page get -1, -2, ... (as GitHub numbers them)."""
    seen: dict[str, int] = {}

    def replace(m: re.Match) -> str:
        slug = m.group(2)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        new = slug if n == 0 else f"{slug}-{n}"
        return m.group(0).replace(f'id="{slug}"', f'id="{new}"', 1).replace(
            f'href="#{slug}"', f'href="#{new}"', 1)
    return re.sub(r'<h([1-6]) id="([^"]*)">.*?</h\1>', replace, body, flags=re.S)


def code(source: str) -> str:
    from nbconvert.filters.highlight import Highlight2HTML

    return Highlight2HTML(pygments_lexer="ipython3")(source)


def _ansi(text: str) -> str:
    from nbconvert.filters.ansi import ansi2html

    return ansi2html(text)  # escapes the text and turns ANSI colours into spans


# ---- Cells ------------------------------------------------------------------------------------

def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def output_html(output: NotebookNode) -> str:
    """One stored output: a stream, an error, or the richest of a display's formats."""
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name", "stdout")
        return f'<pre class="output {html.escape(name)}">{_ansi(_text(output.get("text", "")))}</pre>'
    if kind == "error":
        return f'<pre class="output error">{_ansi(chr(10).join(output.get("traceback", [])))}</pre>'
    data = output.get("data", {})
    mime = next((m for m in MIME_ORDER if m in data), None)
    if mime is None:
        return ""
    value = _text(data[mime])
    if mime == "text/html":
        return f'<div class="output html">{value}</div>'
    if mime == "image/svg+xml":
        encoded = base64.b64encode(value.encode()).decode()
        return f'<div class="output image"><img src="data:image/svg+xml;base64,{encoded}" alt="figure"></div>'
    if mime.startswith("image/"):
        meta = output.get("metadata", {}).get(mime, {})
        size = "".join(f' {k}="{int(meta[k])}"' for k in ("width", "height") if k in meta)
        alt = html.escape(_text(data.get("text/plain", "figure")))
        return (f'<div class="output image"><img src="data:{mime};base64,{value.strip()}"'
                f'{size} alt="{alt}"></div>')
    if mime == "text/markdown":
        return f'<div class="output markdown">{markdown(value)}</div>'
    if mime == "text/latex":
        return f'<div class="output latex">{html.escape(value)}</div>'
    return f'<pre class="output">{_ansi(value)}</pre>'


def _is_solution(cell: NotebookNode) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution", False))


_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)
_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.M | re.S)


def solution_source(source: str) -> str:
    """The solved cell as a reader wants it: no nbgrader markers, never a hidden test."""
    return _MARKERS.sub("", _HIDDEN.sub("", source)).rstrip()


def cell_html(solved: NotebookNode, student: NotebookNode) -> str:
    """One cell: the student's source (blank where an exercise is), the solution behind a
    click for exercise cells, and the solution's stored outputs."""
    exercise = _is_solution(solved)
    if solved.cell_type == "markdown":
        body = f'<div class="markdown">{markdown(student.source)}</div>'
        if exercise:
            body += ('<details class="solution"><summary>Show the solution</summary>'
                     f'<div class="markdown">{markdown(solution_source(solved.source))}</div>'
                     "</details>")
        return f'<div class="cell markdown-cell{" exercise" if exercise else ""}">{body}</div>'
    if solved.cell_type != "code":
        return ""
    outputs = "".join(output_html(o) for o in solved.get("outputs", []))
    outputs = f'<div class="outputs">{outputs}</div>' if outputs else ""
    body = f'<div class="input">{code(student.source)}</div>'
    if exercise:
        label = "your code goes here" if "NotImplementedError" in student.source else "exercise"
        body = (f'<div class="exercise-label">{label}</div>{body}'
                '<details class="solution"><summary>Show the solution</summary>'
                f'<div class="input">{code(solution_source(solved.source))}</div>{outputs}'
                "</details>")
        outputs = ""
    elif outputs and solved.get("metadata", {}).get("nbgrader", {}).get("grade"):
        # under a blank exercise, say whose output this is
        outputs = f'<div class="output-caption">with the solution, the check prints:</div>{outputs}'
    return f'<div class="cell code-cell{" exercise" if exercise else ""}">{body}{outputs}</div>'


def _is_deeper(cell: NotebookNode) -> bool:
    return DEEPER_TAG in (cell.get("metadata", {}).get("tags") or [])


def _deeper_summary(cell: NotebookNode) -> tuple[str, NotebookNode]:
    """The summary of a deeper run (its first heading, when it starts with one) and the first
    cell without that heading line."""
    if cell.cell_type == "markdown":
        first, _, rest = cell.source.lstrip().partition("\n")
        if first.startswith("#"):
            rest_cell = nbformat.from_dict({**cell, "source": rest})
            return markdown(first), rest_cell
    return '<p class="deeper-default">A closer look</p>', cell


def notebook_html(solution: NotebookNode, student: NotebookNode) -> str:
    """The article of a notebook page (``student`` is ``student_version(solution)``)."""
    if len(solution.cells) != len(student.cells):
        raise ValueError(f"solution has {len(solution.cells)} cells, student version "
                         f"{len(student.cells)}: they must correspond one to one")
    parts: list[str] = []
    run: list[tuple[NotebookNode, NotebookNode]] = []

    def close_run() -> None:
        if not run:
            return
        (first_solved, first_student), rest = run[0], run[1:]
        summary, first_student = _deeper_summary(first_student)
        _, first_solved = _deeper_summary(first_solved)
        inner = "".join(cell_html(a, b) for a, b in [(first_solved, first_student), *rest])
        parts.append('<details class="deeper"><summary><span class="deeper-label">deeper'
                     f"</span>{summary}</summary>{inner}</details>")
        run.clear()

    for solved, shown in zip(solution.cells, student.cells):
        if solved.get("metadata", {}).get("rlcourse", {}).get("role") == COLAB_ROLE:
            continue
        if _is_deeper(solved):
            run.append((solved, shown))
            continue
        close_run()
        parts.append(cell_html(solved, shown))
    close_run()
    return _unique_ids("\n".join(parts))


def notebook_title(nb: NotebookNode, fallback: str) -> str:
    """The first ``# heading`` of the notebook, as plain text."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return fallback


# ---- Links in the docs ------------------------------------------------------------------------

def _doc_links(body: str, source: str, pages: dict[str, str], url: str | None) -> str:
    """Relative links written for the repository (in the file ``source``), made right for the
    site: a file that has a page links to its page; another file of the repository to GitHub
    when the address is GitHub's; else the link's text stays, without the link (never a dead
    link)."""
    base = Path(source).parent
    github = GITHUB.match(url or "")

    def replace(m: re.Match) -> str:
        href, text = html.unescape(m.group(1)), m.group(2)
        if re.match(r"^([a-z]+:|#|//)", href):
            return m.group(0)
        path, _, fragment = href.partition("#")
        target = str(base / path).replace("\\", "/")
        target = re.sub(r"(^|/)\./", r"\1", target)
        while "/../" in f"/{target}":
            target = re.sub(r"[^/]+/\.\./", "", target, count=1)
        if target in pages:
            new = pages[target] + (f"#{fragment}" if fragment else "")
            return f'<a href="{html.escape(new)}">{text}</a>'
        if github:
            owner, repo = github.groups()
            new = f"https://github.com/{owner}/{repo}/blob/{DEFAULT_BRANCH}/{target}"
            return f'<a href="{html.escape(new)}">{text}</a>'
        return text
    return re.sub(r'<a href="([^"]*)">(.*?)</a>', replace, body, flags=re.S)


# ---- Pages ------------------------------------------------------------------------------------

def render_page(page: Page, pages: list[Page], course: str, url: str | None,
                branch: str = DEFAULT_BRANCH) -> str:
    """The whole HTML document of ``page``: sidebar, actions, article, previous/next."""
    template = (ASSETS / "page.html").read_text(encoding="utf-8")
    index = pages.index(page)
    current = ' class="current"'
    nav = "\n".join(f'<li{current if p is page else ""}><a href="{p.file}">'
                    f"{html.escape(p.title)}</a></li>" for p in pages)
    actions = ""
    if page.notebook:
        links = [f'<a class="button" href="notebooks/{page.notebook}" download>Download this '
                 f"notebook</a>"]
        colab = colab_link(url, page.notebook, branch)
        if colab:
            links.append(f'<a class="button" href="{html.escape(colab)}">Open in Colab</a>')
        actions = f'<div class="actions">{" ".join(links)}</div>'
    pager = []
    if index > 0:
        prev = pages[index - 1]
        pager.append(f'<a class="prev" rel="prev" href="{prev.file}">← {html.escape(prev.title)}</a>')
    if index + 1 < len(pages):
        nxt = pages[index + 1]
        pager.append(f'<a class="next" rel="next" href="{nxt.file}">{html.escape(nxt.title)} →</a>')
    title = html.escape(re.sub(r"[$`*]", "", page.title))
    values = {"title": title, "course": html.escape(course), "nav": nav, "actions": actions,
              "body": page.body, "pager": "\n".join(pager), "mathjax": f"assets/{MATHJAX_FILE}"}
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], template)


def vendor_mathjax(npm_dir: Path = NPM_DIR) -> Path:
    """MathJax from the npm registry at the version ``authoring/site/package-lock.json`` pins
    (``npm ci`` in ``npm_dir``, skipped when that version is already there); returns its
    ``es5/`` folder."""
    lock = json.loads((ASSETS / "package-lock.json").read_text(encoding="utf-8"))
    want = lock["packages"]["node_modules/mathjax"]["version"]
    es5 = npm_dir / "node_modules" / "mathjax" / "es5"
    installed = npm_dir / "node_modules" / "mathjax" / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == want \
            and (es5 / MATHJAX_FILE).exists():
        return es5
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("the site vendors MathJax from the npm registry, and npm is not "
                           "installed: `apt-get install nodejs npm` (Debian/Ubuntu)")
    npm_dir.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(ASSETS / name, npm_dir / name)
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                          cwd=npm_dir, capture_output=True, text=True)
    if done.returncode != 0 or not (es5 / MATHJAX_FILE).exists():
        raise RuntimeError(f"`npm ci` in {npm_dir} failed (exit {done.returncode}):\n"
                           f"{done.stdout}{done.stderr}")
    return es5


def build_site(out: Path = DEFAULT_OUT, root: Path = ROOT, url: str | object | None = _FROM_PYPROJECT,
               branch: str = DEFAULT_BRANCH, mathjax: Path | None = None) -> list[Page]:
    """Write the site into ``out`` (emptied first) from ``root``'s solutions/, README.md and
    docs/; returns its pages in order.

    Args:
        url: the course's address; by default ``[project.urls] Repository`` of ``root``.
        branch: the branch that Colab links open.
        mathjax: a folder holding ``tex-svg-full.js``; by default ``vendor_mathjax()``.
    """
    out, root = Path(out), Path(root)
    url = course_url(root / "pyproject.toml") if url is _FROM_PYPROJECT else url
    sources = sorted((root / "solutions").glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no notebooks found in {root / 'solutions'}")
    es5 = Path(mathjax) if mathjax is not None else vendor_mathjax()
    if not (es5 / MATHJAX_FILE).exists():
        raise FileNotFoundError(f"mathjax: {es5} holds no {MATHJAX_FILE}")

    # Links to these files (in the docs and the notebooks' text) become links to their pages.
    targets = {source: file for source, file, _ in DOCS_BEFORE + DOCS_AFTER}
    for src in sources:
        targets[f"notebooks/{src.name}"] = targets[f"solutions/{src.name}"] = f"{src.stem}.html"

    notebooks: list[tuple[Page, str]] = []
    for src in sources:
        solution = with_colab_cell(nbformat.read(src, as_version=4), url)
        student = student_version(solution)
        body = _doc_links(notebook_html(solution, student), f"notebooks/{src.name}", targets, url)
        page = Page(f"{src.stem}.html", notebook_title(solution, src.stem), body,
                    notebook=src.name)
        notebooks.append((page, dumps(student)))

    def doc(source: str, file: str, title: str) -> Page:
        body = markdown((root / source).read_text(encoding="utf-8"))
        return Page(file, title, _unique_ids(_doc_links(body, source, targets, url)))

    pages = ([doc(*d) for d in DOCS_BEFORE] + [p for p, _ in notebooks]
             + [doc(*d) for d in DOCS_AFTER])
    course = notebook_title(nbformat.from_dict({"cells": [{"cell_type": "markdown", "source": (
        root / "README.md").read_text(encoding="utf-8"), "metadata": {}}]}), "rlcourse")

    if out.exists():
        shutil.rmtree(out)
    (out / "notebooks").mkdir(parents=True)
    (out / "assets").mkdir()
    shutil.copy2(es5 / MATHJAX_FILE, out / "assets" / MATHJAX_FILE)
    licence = es5.parent / "LICENSE"
    if licence.exists():
        shutil.copy2(licence, out / "assets" / "MATHJAX-LICENSE")
    shutil.copy2(ASSETS / "site.css", out / "assets" / "site.css")
    for page, text in notebooks:
        (out / "notebooks" / page.notebook).write_text(text, encoding="utf-8")
    for page in pages:
        (out / page.file).write_text(render_page(page, pages, course, url, branch),
                                     encoding="utf-8")
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rlcourse_authoring.site",
        description="Build the course's website (offline, from the stored outputs of "
                    "solutions/) into _build/site/.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: %(default)s")
    parser.add_argument("--url", default=None,
                        help="the course's repository address (default: pyproject.toml's "
                             "[project.urls] Repository; '' for none)")
    parser.add_argument("--branch", default=DEFAULT_BRANCH,
                        help="the branch that 'open in Colab' links open (default: %(default)s)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        pages = build_site(args.out, url=_FROM_PYPROJECT if args.url is None else (args.url or None),
                           branch=args.branch)
    except (RuntimeError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {len(pages)} pages into {args.out} in {time.perf_counter() - start:.1f} s:")
    for page in pages:
        print(f"  {page.file:34} {page.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
