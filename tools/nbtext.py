"""Edit notebooks as plain text: `nbtext.py to-text NB [OUT]` and `nbtext.py to-nb TEXT [NB]`.

The text form has one header line per cell, `# %% [markdown] #<id>` or `# %% #<id>`, followed by the
cell's source as it is (markdown unquoted). Ids are kept, so nbdev's exported cell references stay
stable; a header without an id gets a new one. Outputs are dropped: notebooks are committed clean.
"""

import json
import re
import secrets
import sys
from pathlib import Path

HEADER = re.compile(r"^# %%(?: \[(markdown|raw)\])?(?: #([0-9a-zA-Z_-]+))?(?: tags=(\S+))?\s*$")


def to_text(nb_path: Path) -> str:
    "A notebook as text."
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        kind = "" if cell["cell_type"] == "code" else f" [{cell['cell_type']}]"
        tags = cell.get("metadata", {}).get("tags")
        tag_text = f" tags={','.join(tags)}" if tags else ""
        source = "".join(cell["source"])
        parts.append(f"# %%{kind} #{cell.get('id', '')}{tag_text}\n{source}\n")
    return "\n".join(parts)


def to_nb(text: str, template: Path | None = None) -> dict:
    "Text back to a notebook (metadata taken from `template` when it exists)."
    meta = {"kernelspec": {"display_name": "python3", "language": "python", "name": "python3"}}
    if template is not None and template.exists():
        meta = json.loads(template.read_text(encoding="utf-8")).get("metadata", meta)
    cells, current = [], None
    for line in text.splitlines(keepends=True):
        m = HEADER.match(line.rstrip("\n"))
        if m:
            current = {"kind": m.group(1) or "code", "id": m.group(2) or secrets.token_hex(4),
                       "tags": m.group(3).split(",") if m.group(3) else None, "lines": []}
            cells.append(current)
        elif current is not None:
            current["lines"].append(line)
    out = []
    for c in cells:
        source = "".join(c["lines"])
        source = source[:-1] if source.endswith("\n\n") else source.rstrip("\n") if source.endswith("\n") else source
        source = source.rstrip("\n")
        lines = source.splitlines(keepends=True)
        metadata = {"tags": c["tags"]} if c["tags"] else {}
        cell = {"cell_type": c["kind"], "id": c["id"], "metadata": metadata, "source": lines}
        if c["kind"] == "code":
            cell = {"cell_type": "code", "execution_count": None, "id": c["id"], "metadata": metadata,
                    "outputs": [], "source": lines}
        out.append(cell)
    return {"cells": out, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def main(argv: list[str]) -> None:
    "Command line."
    cmd, src = argv[0], Path(argv[1])
    if cmd == "to-text":
        text = to_text(src)
        if len(argv) > 2:
            Path(argv[2]).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    elif cmd == "to-nb":
        dest = Path(argv[2]) if len(argv) > 2 else src.with_suffix(".ipynb")
        nb = to_nb(src.read_text(encoding="utf-8"), dest)
        dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
