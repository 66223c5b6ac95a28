"""Benchmark: the quick summary against pandas describe and the profiling library's minimal mode, the
explorer's interaction latency, the auto-budget report, and peak memory.

Run: .venv/bin/python benchmarks/bench_profile.py [--quick]
Prints a markdown table: measure | ours | peer/floor | ratio | target | verdict. All figures from this run.
Each measurement runs in a fresh process, so its peak memory (max RSS, the frame and imports included)
is its own. Times are the best of three runs (the library's minimal mode and the report: one run).
"""

import argparse
import contextlib
import io
import multiprocessing
import resource
import statistics
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd


def make_frame(rows: int, numeric: int, categorical: int, seed: int = 0) -> pd.DataFrame:
    "Numeric columns (normal, lognormal, integers, 1% missing) and text categories of 3 to 50 levels."
    rng = np.random.default_rng(seed)
    data = {}
    for i in range(numeric):
        x = rng.lognormal(size=rows) if i % 5 == 4 else rng.normal(i, 1 + i / 5, rows)
        if i % 5 == 3:
            x = np.round(x * 10)
        x[rng.random(rows) < 0.01] = np.nan
        data[f"num_{i}"] = x
    for i in range(categorical):
        levels = np.asarray([f"level-{k}" for k in range(3 + 47 * i // max(categorical - 1, 1))], dtype=object)
        data[f"cat_{i}"] = levels[rng.integers(0, len(levels), rows)]
    return pd.DataFrame(data)


def best_of(fn, repeat: int) -> float:
    "The fastest of `repeat` runs, in seconds."
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_mb() -> float:
    "Peak resident memory of this process, in MB."
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_summary(rows: int) -> dict:
    "The quick summary on rows x 20, without and with a target."
    from mlops_workbench.profile import quick_summary
    frame = make_frame(rows, 15, 5)
    ours = best_of(lambda: quick_summary(frame), 3)
    with_target = best_of(lambda: quick_summary(frame, target="cat_0"), 3)
    return {"ours": ours, "with_target": with_target, "frame_mb": frame.memory_usage(deep=True).sum() / 2**20,
            "peak_mb": peak_mb()}


def measure_describe(rows: int) -> dict:
    "pandas describe(include='all') on the same rows x 20."
    frame = make_frame(rows, 15, 5)
    return {"seconds": best_of(lambda: frame.describe(include="all"), 3), "peak_mb": peak_mb()}


def measure_minimal(rows: int) -> dict:
    "The profiling library's minimal mode (its description, no rendering) on the same rows x 20."
    from data_profiling import ProfileReport
    frame = make_frame(rows, 15, 5)
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        ProfileReport(frame, minimal=True, progress_bar=False).get_description()
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": peak_mb()}


def measure_explorer(rows: int) -> dict:
    "Latency of each explorer interaction on rows x 20 (plus a target): first pick of every column, cached picks, slider."
    from mlops_workbench.explorer import Explorer
    frame = make_frame(rows, 15, 5)
    frame["target"] = np.where(frame["num_0"] > frame["num_0"].median(), "high", "low")
    start = time.perf_counter()
    ex = Explorer(frame, target="target")
    build = time.perf_counter() - start
    first, cached, slider = [], [], []
    for name in list(frame.columns)[1:] + [frame.columns[0]]:
        start = time.perf_counter()
        ex.picker.value = name
        first.append(time.perf_counter() - start)
    for name in frame.columns[:5]:
        start = time.perf_counter()
        ex.picker.value = name
        cached.append(time.perf_counter() - start)
    for value in (0.1, 0.3, 0.9):
        start = time.perf_counter()
        ex.min_abs.value = value
        slider.append(time.perf_counter() - start)
    assert not ex.errors, ex.errors
    return {"build": build, "first_max": max(first), "first_median": statistics.median(first),
            "cached_max": max(cached), "slider_max": max(slider), "peak_mb": peak_mb()}


def measure_report(rows: int) -> dict:
    "The auto-budget report (default [profile] budget) on rows x 50, quick summary included."
    import tempfile
    from pathlib import Path

    from mlops_workbench.core import Settings
    from mlops_workbench.profile import profile_report
    frame = make_frame(rows, 35, 15)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = profile_report(frame, Path(tmp) / "report.html", Settings(root=Path(tmp)))
        seconds = time.perf_counter() - start
        html_mb = result.html_path.stat().st_size / 2**20
        json_mb = result.json_path.stat().st_size / 2**20
    return {"seconds": seconds, "statement": result.plan.statement(), "mode": result.plan.mode,
            "settings": result.plan.settings, "sample_rows": result.plan.sample_rows, "html_mb": html_mb,
            "json_mb": json_mb, "peak_mb": peak_mb()}


def in_fresh_process(fn, *args):
    "Run fn(*args) in a new process (so its peak memory is its own) and return its result."
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows instead of 1,000,000")
    args = parser.parse_args()
    rows = 100_000 if args.quick else 1_000_000
    label = f"{rows // 1000}k" if rows < 1_000_000 else f"{rows // 1_000_000}M"

    s = in_fresh_process(measure_summary, rows)
    d = in_fresh_process(measure_describe, rows)
    m = in_fresh_process(measure_minimal, rows)
    s.update(describe=d["seconds"], minimal=m["seconds"])
    e = in_fresh_process(measure_explorer, rows)
    r = in_fresh_process(measure_report, rows)

    lines = ["| measure | ours | peer/floor | ratio | target | verdict |", "|---|---|---|---|---|---|"]
    lines.append(f"| quick summary, {label} x 20 (15 numeric, 5 categorical) vs pandas describe(include='all') | "
                 f"{s['ours']:.2f} s | {s['describe']:.2f} s | {s['ours'] / s['describe']:.2f}x | <= 2x | "
                 f"{verdict(s['ours'] <= 2 * s['describe'])} |")
    lines.append(f"| quick summary, {label} x 20 vs the profiling library's minimal mode (description only) | "
                 f"{s['ours']:.2f} s | {s['minimal']:.2f} s | {s['ours'] / s['minimal']:.3f}x | faster | "
                 f"{verdict(s['ours'] < s['minimal'])} |")
    lines.append(f"| quick summary with target relations (target cat_0), {label} x 20 vs describe | "
                 f"{s['with_target']:.2f} s | {s['describe']:.2f} s | {s['with_target'] / s['describe']:.2f}x | reported | — |")
    lines.append(f"| explorer: first pick of a column, slowest of 21, {label} rows | {e['first_max'] * 1000:.0f} ms | — | — | "
                 f"<= 200 ms | {verdict(e['first_max'] <= 0.2)} |")
    lines.append(f"| explorer: first pick of a column, median | {e['first_median'] * 1000:.0f} ms | — | — | <= 200 ms | "
                 f"{verdict(e['first_median'] <= 0.2)} |")
    lines.append(f"| explorer: cached pick, slowest | {e['cached_max'] * 1000:.1f} ms | — | — | <= 200 ms | "
                 f"{verdict(e['cached_max'] <= 0.2)} |")
    lines.append(f"| explorer: correlation slider, slowest | {e['slider_max'] * 1000:.1f} ms | — | — | <= 200 ms | "
                 f"{verdict(e['slider_max'] <= 0.2)} |")
    lines.append(f"| explorer: opening (summary + first views), {label} x 21 | {e['build']:.2f} s | "
                 f"{s['describe']:.2f} s (describe) | {e['build'] / s['describe']:.2f}x | reported | — |")
    lines.append(f"| auto-budget report, {label} x 50 ({r['mode']}: {r['settings']} settings on {r['sample_rows']:,} rows) | "
                 f"{r['seconds']:.1f} s | — | — | <= 60 s | {verdict(r['seconds'] <= 60)} |")
    lines.append(f"| report size (HTML / JSON) | {r['html_mb']:.1f} MB / {r['json_mb']:.1f} MB | — | — | reported | — |")
    lines.append(f"| peak memory: quick summary process, {label} x 20 (frame of {s['frame_mb']:.0f} MB) vs describe process | "
                 f"{s['peak_mb']:.0f} MB | {d['peak_mb']:.0f} MB | {s['peak_mb'] / d['peak_mb']:.2f}x | reported | — |")
    lines.append(f"| peak memory: quick summary process vs the library's minimal-mode process | "
                 f"{s['peak_mb']:.0f} MB | {m['peak_mb']:.0f} MB | {s['peak_mb'] / m['peak_mb']:.2f}x | reported | — |")
    lines.append(f"| peak memory: explorer process, {label} x 21 | {e['peak_mb']:.0f} MB | — | — | reported | — |")
    lines.append(f"| peak memory: auto-budget report process, {label} x 50 | {r['peak_mb']:.0f} MB | — | — | reported | — |")
    print("\n".join(lines))
    print(f"\nreport plan: {r['statement']}")


if __name__ == "__main__":
    main()
