"""Build the docs without Quarto: README.md from nbs/index.ipynb, and one HTML page per notebook in _docs/.

nbdev-docs and nbdev-readme need Quarto, which cannot be installed here. This script does their job with
the pieces that can: nbdev's own export directives decide what is shown (`#| hide` cells are dropped),
execnb runs each notebook (so `show_doc` and demonstrations render), nbconvert renders it.
Usage: python tools/build_docs.py [--readme-only] [--check]
"""

import argparse
import re
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter, MarkdownExporter
from nbconvert.preprocessors import ExecutePreprocessor

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"
HIDE = re.compile(r"^\s*#\|\s*(hide|export|exporti|default_exp)\b", re.M)


def visible(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    "Drop cells a reader should not see: hidden cells and nbdev's directives themselves."
    cells = []
    for cell in nb.cells:
        src = cell.source
        if cell.cell_type == "code" and re.search(r"^\s*#\|\s*(hide|default_exp)\b", src, re.M):
            continue
        if cell.cell_type == "code":
            cell.source = "\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith("#|"))
        cells.append(cell)
    nb.cells = cells
    return nb


def readme_text() -> str:
    "README.md as generated from nbs/index.ipynb."
    nb = visible(nbformat.read(NBS / "index.ipynb", as_version=4))
    body, _ = MarkdownExporter().from_notebook_node(nb)
    note = "<!-- generated from nbs/index.ipynb by `make docs`: do not edit -->\n\n"
    return note + body.strip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme-only", action="store_true", help="only write README.md")
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date")
    args = parser.parse_args()
    text = readme_text()
    if args.check:
        current = (ROOT / "README.md").read_text() if (ROOT / "README.md").exists() else ""
        if current != text:
            print("README.md is out of date: run `make docs`")
            return 1
        return 0
    (ROOT / "README.md").write_text(text)
    print("wrote README.md")
    if args.readme_only:
        return 0
    out = ROOT / "_docs"
    out.mkdir(exist_ok=True)
    for path in sorted(NBS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        ExecutePreprocessor(timeout=600, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(NBS)}})
        body, _ = HTMLExporter(template_name="lab").from_notebook_node(visible(nb))
        (out / path.with_suffix(".html").name).write_text(body)
        print(f"wrote {out / path.with_suffix('.html').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
