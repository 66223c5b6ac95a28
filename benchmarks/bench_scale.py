"""Benchmark: scale. Validation in memory against DuckDB hand-written SQL and pandera (equal checks), the quick
summary against polars `describe`, and summary, validate and drift on a 10M x 20 Parquet folder (time and peak RSS
of a child process), their growth from 1M rows, and Spark local[2] on 1M rows.

Run: .venv/bin/python benchmarks/bench_scale.py [--quick]   (--quick: 100k in memory, 1M on disk, no Spark)
Prints a markdown table: measure | ours | peer/floor | ratio | target | verdict. All figures from this run.
"""

import argparse
import gc
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pandera
import polars as pl
from bench_contract import best, equal_checks, make_frame, pandera_schema, plant, run_pandera

from mlops_workbench.contract import infer_contract, save_contract
from mlops_workbench.summary import quick_summary
from mlops_workbench.validation import validate


def sql_checks(contract) -> tuple[str, list[str]]:
    "The contract's checks as hand-written DuckDB SQL over a table `batch`: one counting query, plus the unique checks."
    terms = ["count(*) AS rows"]
    for name, c in contract.columns.items():
        on = {k: p for k, p in c.checks.items() if p.get("enabled", True)}
        q = f'"{name}"'
        isnan = f" OR isnan({q})" if c.kind == "numeric" and c.dtype.startswith("float") else ""
        terms.append(f"count(*) FILTER ({q} IS NULL{isnan}) AS \"{name}:missing\"")
        if "range" in on:
            lo, hi = on["range"]["min"], on["range"]["max"]
            terms.append(f"count(*) FILTER (({q} < {lo} OR {q} > {hi}) AND NOT isnan({q})) AS \"{name}:range\"")
        if "categories" in on:
            values = ", ".join("'" + str(v).replace("'", "''") + "'" for v in on["categories"]["values"])
            terms.append(f"count(*) FILTER ({q} NOT IN ({values})) AS \"{name}:categories\"")
        if "pattern" in on:
            terms.append(f"count(*) FILTER (NOT regexp_matches({q}, '^(?:{on['pattern']['regex']})')) AS \"{name}:pattern\"")
    extra = [f'SELECT sum(k) FROM (SELECT count(*) AS k FROM batch WHERE "{n}" IS NOT NULL GROUP BY "{n}" HAVING count(*) > 1)'
             for n, c in contract.columns.items() if c.checks.get("unique", {}).get("enabled", False)]
    if contract.table.get("duplicate_rows", {}).get("enabled", False):
        extra.append("SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM batch)) FROM batch")
    return "SELECT " + ",\n  ".join(terms) + " FROM batch", extra


def duckdb_validate(con, contract) -> dict:
    "Run the hand-written SQL: the reference engine doing the same checks."
    main, extra = sql_checks(contract)
    cur = con.execute(main)
    counts = dict(zip([d[0] for d in cur.description], cur.fetchone()))
    for i, query in enumerate(extra):
        counts[f"extra{i}"] = con.execute(query).fetchone()[0]
    return counts


CHILD = """
import json, sys, time
from mlops_workbench.contract import load_contract
what, folder, contract = sys.argv[1], sys.argv[2], sys.argv[3]
start = time.perf_counter()
if what == "summary":
    from mlops_workbench.engine import open_table
    from mlops_workbench.summary import quick_summary
    s = quick_summary(open_table(folder))
    answer = f"{s.rows} rows, {s.duplicate_rows} duplicates, sample {s.sample_rows}"
elif what == "validate":
    from mlops_workbench.validation import validate
    r = validate(folder, load_contract(contract))
    answer = r.summary()
else:
    from mlops_workbench.drift import detect_drift
    r = detect_drift(load_contract(contract), folder)
    answer = r.summary()
seconds = time.perf_counter() - start
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))  # kB
print(json.dumps({"seconds": seconds, "answer": answer, "peak_kb": peak}))
"""


def in_child(what: str, folder: Path, contract: Path) -> tuple[float, float, str]:
    """Seconds, peak RSS (GiB) and answer of one command on the folder, run in a fresh process.

    The peak is the process's own (`VmHWM`, read by it at its end): `getrusage` would report at least this
    benchmark's own peak, which a forked child inherits."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, what, str(folder), str(contract)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    err = proc.stderr.read()
    if proc.wait() != 0:
        raise SystemExit(f"{what} on {folder} failed:\n{err}")
    result = json.loads(out.strip().splitlines()[-1])
    return result["seconds"], result["peak_kb"] / 2**20, result["answer"]


def write_folder(folder: Path, chunks: int, rows: int) -> None:
    "`chunks` Parquet files of `rows` planted rows each, written one at a time (the whole never in memory)."
    folder.mkdir(parents=True)
    for i in range(chunks):
        part = plant(make_frame(rows, seed=100 + i))
        part.to_parquet(folder / f"part-{i:03d}.parquet", index=False)
        del part
        gc.collect()


def spark_validate(rows: int, contract) -> tuple[float, str]:
    "Best of 3 of the same checks on Spark local[2], on a Spark DataFrame of `rows` rows (the session start excluded)."
    from mlops_workbench.engine import connect, open_table
    con = connect("spark", "local[2]")
    frame = plant(make_frame(rows, seed=1))
    tmp = Path(tempfile.mkdtemp())
    frame.to_parquet(tmp / "batch.parquet", index=False)
    sdf = con._session.read.parquet(str(tmp / "batch.parquet"))
    table = open_table(sdf, con)
    seconds = best(lambda: validate(table, contract), 3)
    answer = validate(table, contract).summary()
    con._session.stop()
    shutil.rmtree(tmp)
    return seconds, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k rows in memory, 1M on disk, no Spark")
    args = parser.parse_args()
    rows = 100_000 if args.quick else 1_000_000
    big_chunks = 1 if args.quick else 10
    repeat = 3
    n = f"{rows // 1000}k" if rows < 1_000_000 else f"{rows // 1_000_000}M"
    reference = make_frame(rows, seed=0)
    batch = plant(make_frame(rows, seed=1))
    contract = infer_contract(reference, id_columns=["row_id"])
    lines = Table()
    lines.append("| measure | ours | peer/floor | ratio | target | verdict |")
    lines.append("|---|---|---|---|---|---|")

    def row(measure, ours, peer, target_ratio=None, unit="s", target=""):
        ratio = ours / peer if peer else float("nan")
        verdict = "-" if target_ratio is None else ("pass" if ratio <= target_ratio else "FAIL")
        lines.append(f"| {measure} | {ours:.3f} {unit} | {peer:.3f} {unit} | {ratio:.2f}x | {target} | {verdict} |")

    con = duckdb.connect()
    con.register("batch", batch)
    counts = duckdb_validate(con, contract)
    ours = validate(batch, contract)
    mine = {f"{f.column}:{f.check}": f.count for f in ours.failures if f.column}
    for key in ("f3:range", "c1:categories", "n0:range"):
        assert mine[key] == counts[key], (key, mine[key], counts[key])
    t_ours = best(lambda: validate(batch, contract), repeat)
    t_sql = best(lambda: duckdb_validate(con, contract), repeat)
    row(f"validate {n} x 20 in memory, all checks, vs DuckDB {duckdb.__version__} hand-written SQL, best of 3",
        t_ours, t_sql, 1.2, target="<= 1.2x")
    same, schema = equal_checks(contract), pandera_schema(contract)
    t_same = best(lambda: validate(batch, same), repeat)
    t_pandera = best(lambda: run_pandera(schema, batch), repeat)
    row(f"validate {n} x 20 in memory, equal checks, vs pandera {pandera.__version__} (its own export), best of 3",
        t_same, t_pandera, 0.8, target="<= 0.8x")
    polars_frame = pl.from_pandas(reference)
    t_summary = best(lambda: quick_summary(reference), repeat)
    t_polars = best(lambda: polars_frame.describe(), repeat)
    row(f"quick summary {n} x 20 in memory vs polars {pl.__version__} describe, best of 3", t_summary, t_polars, 1.0,
        target="<= 1.0x")
    batch = polars_frame = None  # free the memory before the on-disk part
    con.close()
    gc.collect()

    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        contract_path = save_contract(contract, tmp / "contract.yaml")
        small, big = tmp / "small", tmp / "big"
        write_folder(small, 1, rows if args.quick else 1_000_000)
        write_folder(big, big_chunks, 1_000_000)
        big_rows = big_chunks * 1_000_000
        label = f"{big_rows // 1_000_000}M x 20 Parquet ({big_chunks} files)"
        for what in ("summary", "validate", "drift"):
            t_small, _, _ = in_child(what, small, contract_path)
            t_big, rss, answer = in_child(what, big, contract_path)
            lines.append(f"| {what}, {label}: time | {t_big:.1f} s | - | - | <= 30 s | {'pass' if t_big <= 30 else 'FAIL'} |")
            lines.append(f"| {what}, {label}: peak RSS of the process | {rss:.2f} GiB | - | - | <= 1.5 GB | "
                         f"{'pass' if rss * 2**30 <= 1.5e9 else 'FAIL'} |")
            small_rows = rows if args.quick else 1_000_000
            row(f"{what}: growth from {small_rows // 1000}k to {big_rows // 1000}k rows (answer: {answer})", t_big, t_small,
                12.0 * (big_rows / small_rows) / 10, target=f"<= {12 * (big_rows / small_rows) / 10:g}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.quick:
        t_spark, answer = spark_validate(1_000_000, contract)
        lines.append(f"| Spark local[2]: the same checks on 1M rows, best of 3 ({answer}) | {t_spark:.1f} s | - | - | reported | - |")


class Table(list):
    "The table's lines, each printed as soon as it is measured (a long run shows its progress, and a late failure keeps the rest)."

    def append(self, line: str) -> None:
        super().append(line)
        print(line, flush=True)


if __name__ == "__main__":
    main()
