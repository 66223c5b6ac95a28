"""A corpus of bad and awkward input: files, settings.ini values, contract YAML and parameters.

`python tests/bad_inputs.py DIR` writes it into DIR; `corpus(DIR)` returns the kinds, each with the commands it
goes through and the outcome a user must see: exit 0 with a correct result, or exit 2 with one line naming the
file and the cause. The test in `test_bad_input_corpus.py` runs every case through the real CLI.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mlops_workbench.contract import contract_yaml, infer_contract
from mlops_workbench.data import demo_frame

GOOD_CONTRACT = "good_contract.yaml"
REFERENCE = "reference.csv"
FILE_COMMANDS = ("profile", "contract infer", "validate", "drift")


@dataclass
class Kind:
    "One kind of input, the commands it concerns, and what a user must see."
    name: str  # a short name for the table
    path: str  # the file the kind is about (relative to the corpus folder), or "" for parameters
    commands: tuple[str, ...] = FILE_COMMANDS  # the commands it goes through
    ok: bool = False  # True: exit `code` and `result` holds; False: exit 2 with one line naming `path` and `cause`
    cause: str = ""  # a phrase the error line must contain
    result: str | dict[str, str] = ""  # with `ok`: a phrase the output must contain (per command, as a dict)
    code: int = 0  # with `ok`: the exit code of a correct result (1: a check found what it should)
    args: tuple[str, ...] = ()  # extra arguments (e.g. -p NAME=VALUE), for run
    settings: str = ""  # with run/init: the settings.ini text of the project the command runs in
    names: tuple[str, ...] = field(default_factory=tuple)  # further paths the error line may name instead
    as_reference: bool = False  # drift: the file is the reference (else the current batch)


def _csv(folder: Path, name: str, text: str | bytes) -> str:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return name


def _frame_csv(folder: Path, name: str, frame: pd.DataFrame, **kwargs) -> str:
    frame.to_csv(folder / name, index=False, **kwargs)
    return name


def files(folder: Path) -> list[Kind]:
    "Data files, each through profile, contract infer, validate and drift."
    pen = demo_frame()
    small = pen.dropna().head(60)
    kinds = [
        Kind("missing file", "nowhere.csv", cause="file not found"),
        Kind("empty file", _csv(folder, "empty.csv", b""), cause="the file is empty"),
        Kind("header only", _csv(folder, "header.csv", "a,b,c\n"), cause="header but no data rows"),
        Kind("blank lines after the header", _csv(folder, "blank.csv", "a,b\n\n\n\n"), cause="header but no data rows"),
        Kind("duplicate column names", _csv(folder, "dupes.csv", "a,b,a\n1,2,3\n"), cause="duplicate column names: a"),
        Kind("unsupported file type", _csv(folder, "data.xlsx", b"PK\x03\x04"), cause="unsupported file type '.xlsx'"),
        Kind("no file extension", _csv(folder, "data", "a,b\n1,2\n"), cause="unsupported file type '(none)'"),
        Kind("a folder, not a file", "a_folder.csv", cause="is a directory"),
        Kind("binary bytes named .csv", _csv(folder, "image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4),
             cause="image.csv"),
        Kind("corrupt Parquet", _csv(folder, "corrupt.parquet", b"PAR1 this is not really parquet PAR1"),
             cause="not a readable Parquet file"),
        Kind("Parquet without rows", "empty.parquet", cause="has columns but no rows"),
        Kind("ragged row", _csv(folder, "ragged.csv", "a,b,y\n1,2,x\n3,4,y,EXTRA\n5,6,x\n"), cause="line 3"),
        Kind("unterminated quote", _csv(folder, "quote.csv", 'a,b\n1,"never closed\n2,3\n'), cause="quote.csv"),
        Kind("semicolon separator", _frame_csv(folder, "semicolon.csv", small, sep=";"), commands=("profile",), ok=True,
             result="60 rows x 8 columns"),
        Kind("tab separator", _frame_csv(folder, "tabs.csv", small, sep="\t"), commands=("profile",), ok=True,
             result="60 rows x 8 columns"),
        Kind("Latin-1 text", _csv(folder, "latin1.csv", ("name,city,y\n" + "".join(
            f"Jos\u00e9 {i},S\u00e3o Paulo,{'ab'[i % 2]}\n" for i in range(30))).encode("latin-1")), commands=("profile",),
             ok=True, result="30 rows x 3 columns"),
        Kind("UTF-8 with a byte-order mark", _csv(folder, "bom.csv", "\ufeffa,b\n1,2\n3,4\n"), commands=("profile",), ok=True,
             result="2 rows x 2 columns"),
        Kind("Windows line endings", _csv(folder, "crlf.csv", "a,b\r\n1,2\r\n3,4\r\n"), commands=("profile",), ok=True,
             result="2 rows x 2 columns"),
        Kind("quoted field with a newline", _csv(folder, "newline.csv", 'a,b\n1,"two\nlines"\n3,x\n'), commands=("profile",),
             ok=True, result="2 rows x 2 columns"),
        Kind("one column", _csv(folder, "one_column.csv", "a\n1\n2\n3\n"), commands=("profile", "contract infer"), ok=True,
             result="1 column"),
        Kind("one row", _csv(folder, "one_row.csv", "a,b\n1,x\n"), commands=("profile", "contract infer"), ok=True,
             result={"profile": "1 rows x 2 columns", "contract infer": "2 columns"}),
        Kind("an all-missing column", _frame_csv(folder, "all_missing.csv", small.assign(nothing=np.nan)),
             commands=("profile",), ok=True, result="all_missing"),
        Kind("numbers and text in one column", _csv(folder, "mixed.csv", "a,b\n1,x\ntwo,y\n3,z\n"), commands=("profile",),
             ok=True, result="3 rows x 2 columns"),
        Kind("infinite and extreme numbers", _csv(folder, "extreme.csv", "x,y\n1e308,a\n-1e308,b\ninf,a\n-inf,b\n3,a\n1,b\n"),
             commands=("profile",), ok=True, result="infinite"),
        Kind("unicode and odd column names", _frame_csv(folder, "names.csv", small.rename(
            columns={"island": "île (ID) #1", "sex": "température °C"})), commands=("profile", "contract infer"), ok=True,
             result={"profile": "île (ID) #1", "contract infer": "8 columns"}),
        Kind("an unnamed column", _csv(folder, "unnamed.csv", "a,,b\n1,2,3\n4,5,6\n"), commands=("profile",), ok=True,
             result="Unnamed: 1"),
        Kind("a batch missing a required column", _frame_csv(folder, "short.csv", pen.drop(columns=["island"])),
             commands=("validate",), ok=True, result="required_columns", code=1),
        Kind("a batch with text in a numeric column", _frame_csv(folder, "wrong_kind.csv", pen.assign(
            bill_length_mm=pen["bill_length_mm"].astype(str).replace("nan", "unknown"))), commands=("validate",), ok=True,
             result="dtype", code=1),
        Kind("a reference with nothing to measure drift on", _csv(folder, "ids_only.csv", "".join(
            ["id\n"] + [f"row-{i}\n" for i in range(100)])), commands=("drift",), cause="no column drift can be measured on",
             as_reference=True),
    ]
    (folder / "a_folder.csv").mkdir(exist_ok=True)
    pd.DataFrame({"a": pd.Series([], dtype=float)}).to_parquet(folder / "empty.parquet")
    return kinds


def contracts(folder: Path) -> list[Kind]:
    "Contract YAML files, each through validate."
    good = (folder / GOOD_CONTRACT).read_text()

    def broken(name: str, old: str, new: str) -> str:
        assert old in good, old
        return _csv(folder, name, good.replace(old, new, 1))

    return [
        Kind("contract: not YAML", _csv(folder, "c_not_yaml.yaml", "version: [1\ncolumns: {\n"), ("validate",),
             cause="not valid YAML"),
        Kind("contract: empty file", _csv(folder, "c_empty.yaml", ""), ("validate",), cause="a contract is a mapping"),
        Kind("contract: a list", _csv(folder, "c_list.yaml", "- a\n- b\n"), ("validate",), cause="a contract is a mapping"),
        Kind("contract: unknown check", broken("c_unknown_check.yaml", "      range: {", "      rnage: {"), ("validate",),
             cause="unknown check 'rnage'"),
        Kind("contract: bound of the wrong type", broken("c_bound.yaml", "min: 29.35", "min: small"), ("validate",),
             cause="range.min = 'small'"),
        Kind("contract: share out of range", broken("c_share.yaml", "max_share: 0.068", "max_share: 7"), ("validate",),
             cause="missing.max_share = 7"),
        Kind("contract: invalid regex", broken("c_regex.yaml", "      categories: {values:",
                                               "      pattern: {regex: '([', severity: error}\n      categories: {values:"),
             ("validate",), cause="not a valid regular expression"),
        Kind("contract: no columns section", _csv(folder, "c_no_columns.yaml", "version: 1\ntable: {}\n"), ("validate",),
             cause="the contract lacks 'columns'"),
        Kind("contract: missing file", "c_none.yaml", ("validate",), cause="contract file not found"),
        Kind("contract: not UTF-8", _csv(folder, "c_latin1.yaml", good.replace("species", "espèce", 1).encode("latin-1")),
             ("validate",), cause="cannot read the contract"),
    ]


GOOD_SETTINGS = "[project]\nname = corpus\n[data]\ntrain = data/penguins.csv\ntarget = species\n"


def settings_files() -> list[Kind]:
    "settings.ini values, each through run (refused before any stage runs)."
    return [
        Kind("settings: not an ini file", "settings.ini", ("run",), settings="this is not = [an ini\n[[[", cause="not a valid settings file"),
        Kind("settings: unknown section", "settings.ini", ("run",), settings=GOOD_SETTINGS + "[modles]\nfolds = 3\n",
             cause="unknown section [modles]"),
        Kind("settings: unknown key", "settings.ini", ("run",), settings=GOOD_SETTINGS + "[models]\nfoldz = 3\n",
             cause="unknown key 'foldz'"),
        Kind("settings: wrong type", "settings.ini", ("run",), settings=GOOD_SETTINGS + "[models]\nfolds = five\n",
             cause="[models] folds = 'five': expected integer"),
        Kind("settings: a key outside any section", "settings.ini", ("run",), settings="name = corpus\n" + GOOD_SETTINGS,
             cause="File contains no section headers"),
        Kind("settings: boolean that is not", "settings.ini", ("run",),
             settings=GOOD_SETTINGS + "[models]\nregister_challenger = maybe\n", cause="expected boolean"),
        Kind("settings: not UTF-8", "settings.ini", ("run",), settings=(GOOD_SETTINGS + "[project]\n").replace(
            "corpus", "projet-\udce9"), cause="not a valid settings file"),
        Kind("settings: a target that is not a column", "settings.ini", ("contract infer",),
             settings=GOOD_SETTINGS.replace("target = species", "target = price"), cause="[data] target = price",
             names=("penguins.csv",)),
    ]


def parameters() -> list[Kind]:
    "Parameters of a production run, refused before any stage runs."
    return [
        Kind("parameter: not declared", "", ("run",), args=("-p", "rowz=3"), cause="parameter rowz is not declared"),
        Kind("parameter: not an identifier", "", ("run",), args=("-p", "os.system('x')=1"), cause="is not an identifier"),
        Kind("parameter: wrong type", "", ("run",), args=("-p", "sample_rows=many"), cause="parameter sample_rows='many': expected int"),
        Kind("parameter: set by the runner", "", ("run",), args=("-p", "run_dir=/tmp"), cause="set by the runner"),
        Kind("parameter: no value", "", ("run",), args=("-p", "sample_rows"), cause="expected NAME=VALUE"),
        Kind("parameter: unknown stage", "", ("run",), args=("--stages", "deploy"), cause="unknown stage 'deploy'"),
        Kind("parameters file: not a mapping", "params_list.yaml", ("run",), args=("--params-file", "params_list.yaml"),
             cause="parameters must be a mapping"),
        Kind("parameters file: not YAML", "params_bad.yaml", ("run",), args=("--params-file", "params_bad.yaml"),
             cause="cannot read parameters"),
    ]


def corpus(folder: str | Path) -> list[Kind]:
    "Write the corpus into `folder` and return its kinds."
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    demo_frame().to_csv(folder / REFERENCE, index=False)
    (folder / GOOD_CONTRACT).write_text(contract_yaml(infer_contract(demo_frame(), target="species")))
    (folder / "params_list.yaml").write_text("- a\n- b\n")
    (folder / "params_bad.yaml").write_text("a: [1\n")
    return files(folder) + contracts(folder) + settings_files() + parameters()


if __name__ == "__main__":
    kinds = corpus(sys.argv[1])
    print(f"{len(kinds)} kinds written to {sys.argv[1]}")
