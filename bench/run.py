"""Benchmarks of the flow: speed per step, sweep engine, bit-width trend, calibration. See bench/README.md.

    .venv/bin/python bench/run.py [--sections speed,sweep,trend,calib] [--arrays 1x1,2x2,4x4,8x8] [--bits 3,16]
                                  [--pdks sky130hd,gf180mcu,osu018] [--quick]
    .venv/bin/python bench/run.py --sections gpu [--gpu-shapes 64x32,1024x1024,784-256-10] [--gpu-batches ...]

Each section prints markdown tables and writes reports/bench/<section>.md + .csv; reports/bench/README.md joins
the section files that exist, so sections can run separately. Comparisons are ratios measured in the same run;
absolute times are context for the machine named in the output.
"""
from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import functools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from flow import config as config_mod  # noqa: E402
from flow import pdks, procs  # noqa: E402
from flow.report import markdown_table  # noqa: E402
from kan.gpu import parse_shape  # noqa: E402  (torch-free)

BENCH = Path(__file__).resolve().parent
OUT = REPO / "reports" / "bench"
WORK = REPO / "build" / "bench"      # point stores, netlists, logs: not for git
SECTIONS = ("speed", "sweep", "trend", "calib", "fpga")
OPTIONAL_SECTIONS = ("gpu",)         # needs the optional `gpu` group (torch); not part of the default run
ALL_PDKS = pdks.BENCH    # the PDK records say which (flow/pdks.py)
# SiliconCompiler steps of flow.physical grouped as the issue names them; other step names keep their own column
STEP_GROUPS = {"rtl": "generation", "rtlsim": "verification", "gatesim": "verification", "synth": "synthesis",
               "place": "placement", "route": "routing", "sta_synth": "timing", "sta_route": "timing"}
GROUPS = ("generation", "verification", "synthesis", "placement", "routing", "timing")
REFERENCE_28NM = {"area": -0.72, "fmax": +0.50}   # KANtize, 28 nm, 16 -> 3 bit table (flow/report.py plots it too)


# ---------------------------------------------------------------- pure helpers (tests/test_bench.py)

def fit_exponent(x, y) -> tuple[float, float] | None:
    """Least-squares k and R^2 of y = a * x^k on log-log axes; None with fewer than 2 distinct positive x."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = (x > 0) & (y > 0)
    x, y = np.log(x[ok]), np.log(y[ok])
    if len(set(x)) < 2:
        return None
    k, a = np.polyfit(x, y, 1)
    resid = y - (a + k * x)
    ss = float(((y - y.mean()) ** 2).sum())
    return float(k), (1.0 - float((resid ** 2).sum()) / ss) if ss else 1.0


def machine_info(cpuinfo: str, meminfo: str, nproc: int) -> dict:
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem = re.search(r"^MemTotal:\s*(\d+)\s*kB", meminfo, re.M)
    return {"nproc": nproc, "memory [GiB]": round(int(mem[1]) / 2**20, 1) if mem else None,
            "cpu": model[1].strip() if model else "unknown"}


def parse_stat_modules(text: str) -> dict[str, dict]:
    """Yosys `stat -liberty` per module: {module: {"area": um^2, "sequential": um^2, "cells": {type: (n, um^2)}}}."""
    out = {}
    for block in re.split(r"^=== ", text, flags=re.M)[1:]:
        name = block.split(" ===", 1)[0].strip()
        area = re.search(r"Chip area for module '\\?([^']+)':\s*([0-9.eE+-]+)", block)
        if not area:
            continue
        seq = re.search(r"of which used for sequential elements:\s*([0-9.eE+-]+)", block)
        cells = {m[3]: (int(m[1]), float(m[2])) for m in
                 re.finditer(r"^\s+(\d+)\s+(\d[0-9.]*(?:[eE][+-]?\d+)?)\s+(\S+)\s*$", block, re.M)
                 if m[3] != "cells"}
        out[name] = {"area": float(area[2]), "sequential": float(seq[1]) if seq else 0.0, "cells": cells}
    return out


def skip_point(label: str, patterns: list[str]) -> bool:
    """Whether a speed point ('4x4 b16 sky130hd flat') matches one of the --skip shell patterns ('* flat')."""
    return any(fnmatch.fnmatchcase(label, p) for p in patterns)


def ideal_speedup(points: int, jobs: int) -> float:
    """Best 1-job / N-job ratio for `points` equal points: rounds of N run side by side."""
    return points / math.ceil(points / jobs) if points else float("nan")


def step_order(step: str) -> tuple[int, str]:
    """Flow order of a SiliconCompiler step for the tables (unknown steps last, by name)."""
    group = STEP_GROUPS.get(step)
    return (GROUPS.index(group) if group else len(GROUPS), step)


def pct(new: float, old: float) -> float:
    return (new / old - 1.0) * 100.0 if old else float("nan")


# ---------------------------------------------------------------- process-tree sampler

KEY_RE = re.compile(r"/build/sweeps/[^/]+/([0-9a-f]{20})/attempt-")
# SiliconCompiler node folders: <work>/<design>/<job>/<step>/<index>; tools run in them or below
NODE_RE = re.compile(r"/attempt-[^/]+/[^/]+/[^/]+/([^/]+)/\d+(?=/|$)")


class TreeSampler(threading.Thread):
    """Samples this process's descendants every `interval` s: per sweep point (from the worker's job path) the
    time any tool process runs, and per step the peak memory (PSS summed over the step's processes).

    A node process of SiliconCompiler sits in its node folder; every process below it in the same folder is
    the tool (yosys child, iverilog/vvp, graywolf, qrouter, sta, tclsh): time with none of them alive is the
    flow's own overhead (Python, SiliconCompiler, file conversions)."""

    def __init__(self, interval: float = 0.1):
        super().__init__(daemon=True)
        self.interval, self.stop_event = interval, threading.Event()
        self.points: dict[str, dict] = {}
        self._keys: dict[int, str | None] = {}

    def run(self):
        last = time.monotonic()
        while not self.stop_event.wait(self.interval):
            now = time.monotonic()
            self._sample(now, now - last)
            last = now

    def stop(self) -> dict:
        self.stop_event.set()
        self.join()
        return self.points

    @staticmethod
    def _read(path: str) -> str:
        try:
            with open(path) as fh:
                return fh.read()
        except OSError:
            return ""

    def _memory_mb(self, pid: int) -> float:
        pss = re.search(r"^Pss:\s+(\d+)", self._read(f"/proc/{pid}/smaps_rollup"), re.M)
        if pss:
            return int(pss[1]) / 1024
        statm = self._read(f"/proc/{pid}/statm").split()
        return int(statm[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20 if len(statm) > 1 else 0.0

    def _sample(self, now: float, dt: float):
        table = procs.processes()
        parent = {pid: ppid for pid, (ppid, _) in table.items()}
        tree = procs.descendants(os.getpid(), table)
        step_of, key_of = {}, {}
        for pid in sorted(tree):       # parents have smaller pids except after wrap-around; fixed below
            try:
                step_of[pid] = (m[1] if (m := NODE_RE.search(os.readlink(f"/proc/{pid}/cwd") + "/")) else None)
            except OSError:
                step_of[pid] = None
            if pid not in self._keys:
                m = KEY_RE.search(self._read(f"/proc/{pid}/cmdline").replace("\0", " "))
                self._keys[pid] = m[1] if m else None
        for pid in tree:
            p, key = pid, None
            while p in tree and key is None:
                key, p = self._keys.get(p), parent.get(p)
            key_of[pid] = key
        seen: dict[str, dict] = {}
        for pid in tree:
            key = key_of[pid]
            if key is None:
                continue
            rec = self.points.setdefault(key, {"first": now, "last": now, "tool_s": 0.0, "peak_mb": 0.0,
                                               "steps": {}})
            rec["last"] = now
            s = seen.setdefault(key, {"tool": False, "mb": 0.0, "steps": {}})
            mb = self._memory_mb(pid)
            s["mb"] += mb
            step = step_of[pid]
            if step:
                st = s["steps"].setdefault(step, {"tool": False, "mb": 0.0})
                st["mb"] += mb
                if step_of.get(parent.get(pid)) == step:      # below the node process: a tool
                    st["tool"] = s["tool"] = True
        for key, s in seen.items():
            rec = self.points[key]
            rec["peak_mb"] = max(rec["peak_mb"], s["mb"])
            rec["tool_s"] += dt if s["tool"] else 0.0
            for step, st in s["steps"].items():
                r = rec["steps"].setdefault(step, {"tool_s": 0.0, "peak_mb": 0.0})
                r["peak_mb"] = max(r["peak_mb"], st["mb"])
                r["tool_s"] += dt if st["tool"] else 0.0


# ---------------------------------------------------------------- shared plumbing

def bench_sweep(template: Path, axes: dict, work: Path):
    """The sweep file `template` with its axes replaced, written under `work` (base made absolute) and loaded."""
    from flow.sweep import load_sweep
    data = yaml.safe_load(template.read_text())
    data["base"] = str((template.parent / data["base"]).resolve())
    data["axes"] = {k: axes.get(k, v) for k, v in data["axes"].items()}
    work.mkdir(parents=True, exist_ok=True)
    path = work / template.name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_sweep(path, verify=True)


def value(point: dict, name: str):
    m = point.get("metrics", {}).get(name)
    return m["value"] if m else None


def failure_note(point: dict) -> str:
    return f"{point.get('error') or ''} (log: {point.get('log', '?')})" if point["status"] != "ok" else ""


def write_section(name: str, title: str, parts: list[str], frame: pd.DataFrame, out: Path, args) -> None:
    out.mkdir(parents=True, exist_ok=True)
    text = (f"## {title}\n\nCommand: `python bench/run.py {' '.join(args.argv)}` on {args.machine}\n\n"
            + "\n".join(parts))
    (out / f"{name}.md").write_text(text)
    frame.to_csv(out / f"{name}.csv", index=False)
    print(text)


def table(rows: list[dict]) -> str:
    """Markdown table; floats >= 1000 as integers (markdown_table would write 3.986e+04); object columns, so a
    column with a missing value keeps its integers (a float column would print 1.68e+04)."""
    big = lambda v: int(round(v)) if isinstance(v, float) and math.isfinite(v) and abs(v) >= 1000 else v
    return (markdown_table(pd.DataFrame([{k: big(v) for k, v in r.items()} for r in rows], dtype=object))
            if rows else "(no rows)\n")


def span(values: list[int]) -> str:
    """'2..16' for a run of consecutive integers, else '2, 3, 16'."""
    consecutive = len(values) > 2 and list(values) == list(range(values[0], values[-1] + 1))
    return f"{values[0]}..{values[-1]}" if consecutive else ", ".join(map(str, values))


# ---------------------------------------------------------------- 1. speed

def tiled_vs_flat(rows: list[dict]) -> list[dict]:
    """tiled / flat ratios of area, fmax and wall time per array and table width, where both modes finished."""
    ok = {(r["array"], r["table_bits"], r["physical"]): r for r in rows if r["status"] == "ok"}
    out = []
    for (array, bits, mode), flat in ok.items():
        tiled = ok.get((array, bits, "tiled"))
        if mode == "flat" and tiled:
            ratio = lambda col: round(tiled[col] / flat[col], 3)
            out.append({"point": f"{array} b{bits}", "cell area tiled/flat": ratio("cell area [um^2]"),
                        "die area tiled/flat": ratio("die area [um^2]"), "fmax tiled/flat": ratio("fmax [MHz]"),
                        "wall time tiled/flat": ratio("wall [s]")})
    return out


def section_speed(args, out: Path) -> None:
    from flow.sweep import run_sweep
    sweep = bench_sweep(BENCH / "speed.yaml", {"array": args.arrays, "kan.table_bits": args.bits,
                                               "pdk": args.pdks or ["sky130hd"], "flow.physical": args.physical,
                                               "flow.verify_vectors": [args.vectors],
                                               "flow.power_vectors": [args.power_vectors]}, args.work)
    label = lambda pt: (f"{pt.cfg.array.rows}x{pt.cfg.array.cols} b{pt.cfg.kan.table_bits} {pt.cfg.pdk} "
                        f"{pt.cfg.physical_mode}")
    skipped = [label(pt) for pt in sweep.points if skip_point(label(pt), args.skip)]
    sweep = dataclasses.replace(sweep, points=[pt for pt in sweep.points if label(pt) not in skipped])
    sampler = TreeSampler()
    sampler.start()
    results = {}
    try:   # one point at a time: timed alone, fresh: never from the sweep store, macros hardened in an empty cache
        for pt in sweep.points:
            os.environ["KAN_CACHE"] = str(args.work / "speed-cache" / pt.key)
            shutil.rmtree(os.environ["KAN_CACHE"], ignore_errors=True)
            results.update(run_sweep(dataclasses.replace(sweep, points=[pt]), args.work, jobs=1,
                                     timeout=args.timeout or 3600, force=True, verify=True))
    finally:
        os.environ.pop("KAN_CACHE", None)
        samples = sampler.stop()
    rows = []
    for pt in sweep.points:
        res, smp = results[pt.key], samples.get(pt.key, {"first": 0, "last": 0, "tool_s": 0, "peak_mb": 0,
                                                         "steps": {}})
        step_s = {k.removeprefix("runtime_"): m["value"] for k, m in res["metrics"].items()
                  if k.startswith("runtime_") and k != "runtime_total"}
        wall = smp["last"] - smp["first"] if smp["last"] > smp["first"] else res.get("seconds") or 0.0
        row = {"point": label(pt), "PEs": pt.cfg.array.rows * pt.cfg.array.cols,
               "array": f"{pt.cfg.array.rows}x{pt.cfg.array.cols}", "physical": pt.cfg.physical_mode,
               "table_bits": pt.cfg.kan.table_bits, "pdk": pt.cfg.pdk, "status": res["status"],
               "cells": value(res, "cells"), "wall [s]": round(wall, 2),
               "tool [s]": round(smp["tool_s"], 2), "peak memory [MB]": round(smp["peak_mb"], 1),
               "error": failure_note(res), "cell area [um^2]": value(res, "cell_area"),
               "die area [um^2]": value(res, "die_area"), "fmax [MHz]": value(res, "fmax"),
               "failed nets": value(res, "failed_nets"), "clock skew [ns]": value(res, "postroute_clock_skew"),
               "register hold slack [ns]": value(res, "postroute_hold_slack_registers")}
        for step, s in sorted(step_s.items(), key=lambda kv: step_order(kv[0])):
            row[f"{step} [s]"] = s
            sampled = smp["steps"].get(step)
            if sampled:   # tiled's sub-steps run in its process: their tool time is in its column
                row[f"{step} tool [s]"] = round(sampled["tool_s"], 2)
                row[f"{step} peak memory [MB]"] = round(sampled["peak_mb"], 1)
            elif value(res, f"memory_{step}") is not None:      # ... their peak memory the flow measures itself
                row[f"{step} peak memory [MB]"] = value(res, f"memory_{step}")
        rows.append(row)
    header = (f"Points: {len(rows)} "
              f"({', '.join(args.arrays)} x b {', '.join(map(str, args.bits))} x {', '.join(args.physical)}), "
              f"verification on ({args.vectors} vectors), "
              + (f"power step on ({args.power_vectors} vectors)" if args.power_vectors else "no power step")
              + ", run one at a time with nothing cached (macros hardened in an empty cache per point).")
    parts = speed_parts(rows, header)
    if skipped:
        parts += [f"\n### Not run (--skip {','.join(args.skip)})\n", "\n".join(f"- {p}" for p in skipped) + "\n"]
    write_section("speed", "Flow speed per step", parts, pd.DataFrame(rows), out, args)


SC_STEPS = (*STEP_GROUPS, "tiled", "power")     # SiliconCompiler nodes; tiled and power time their parts inside


def speed_parts(rows: list[dict], header: str) -> list[str]:
    """The speed section's tables, all derived from the per-point rows (speed.csv): so a table can be rebuilt,
    or rows of two runs merged, without running the flow again (--merge-speed)."""
    num = lambda v: v is not None and not (isinstance(v, float) and math.isnan(v))
    times, mems, split = [], [], []
    for row in rows:
        t = {"point": row["point"], "PEs": row["PEs"], "cells": row["cells"]}
        m = {"point": row["point"], "cells": row["cells"]}
        steps = [c.removesuffix(" [s]") for c in row if c.endswith(" [s]") and num(row[c])
                 and c not in ("wall [s]", "tool [s]") and not c.endswith(" tool [s]")]
        for step in sorted(steps, key=step_order):
            g = STEP_GROUPS.get(step, step)
            t[f"{g} [s]"] = round(t.get(f"{g} [s]", 0.0) + row[f"{step} [s]"], 2)
            if num(row.get(f"{step} peak memory [MB]")):
                m[f"{g} [MB]"] = round(max(m.get(f"{g} [MB]", 0.0), row[f"{step} peak memory [MB]"]), 1)
        in_steps = sum(row[f"{s} [s]"] for s in steps if s in SC_STEPS)
        wall = row["wall [s]"]
        t["flow total [s]"], t["status"] = wall, row["status"]
        times.append(t)
        mems.append(m)
        overhead = max(0.0, wall - row["tool [s]"])
        split.append({"point": row["point"], "wall [s]": wall, "tool [s]": row["tool [s]"],
                      "overhead [s]": round(overhead, 2),
                      "overhead [%]": round(100 * overhead / wall, 1) if wall else None,
                      "of it outside steps [s]": round(max(0.0, wall - in_steps), 2),
                      "goal <10%": ("yes" if overhead < 0.1 * wall else "no") if wall else "-"})
    frame = pd.DataFrame(rows)
    fits = []
    for (bits, mode), g in frame[frame.status == "ok"].groupby(["table_bits", "physical"]):
        t = pd.DataFrame([x for x in times if x["point"] in set(g.point)])
        for col in [c for c in t.columns if c.endswith(" [s]")]:
            n = int(t[col].notna().sum())
            by_cells, by_pes = (fit_exponent(t[x], t[col]) if n >= 2 else None for x in ("cells", "PEs"))
            fits.append({"table_bits": bits, "physical": mode, "step": col.removesuffix(" [s]"), "points": n,
                         "exponent k (t ~ cells^k)": round(by_cells[0], 2) if by_cells else "n/a (< 2 sizes)",
                         "R^2": round(by_cells[1], 3) if by_cells else "",
                         "exponent vs PEs (t ~ PEs^k)": round(by_pes[0], 2) if by_pes else "n/a",
                         "R^2 (PEs)": round(by_pes[1], 3) if by_pes else ""})
    results_cols = ["point", "status", "cells", "cell area [um^2]", "die area [um^2]", "fmax [MHz]", "failed nets",
                    "clock skew [ns]", "register hold slack [ns]"]
    failed = [f"- {r['point']}: {r['error']}" for r in rows if r["status"] != "ok"]
    parts = [header + "\nStep wall time: SiliconCompiler tasktime (job manifest); the tiled step's "
             "parts (harden_*, route_top, sta, ...) are timed by flow/tiled/run.py inside it. Memory: peak PSS summed "
             "over the step's processes, sampled every 0.1 s from /proc (short spikes can be missed); the tiled "
             "step's parts: peak RSS of the flow's process and its tools summed, sampled every 0.2 s by "
             "flow/tiled/run.py (memory_<part>). Tool time: "
             "sampled time with a tool process alive (yosys, iverilog, graywolf, qrouter, OpenSTA); overhead = "
             "point wall time (worker start to exit, sampled) - tool time.\n",
             "### Results per point (post-route; the tiled flow's die includes its routing channels)\n",
             table([{k: r.get(k) for k in results_cols} for r in rows]),
             "\n### Tiled vs flat (same array and table width, both finished)\n", table(tiled_vs_flat(rows)),
             "\n### Wall time per step [s]\n", table(times), "\n### Peak memory per step [MB]\n", table(mems),
             "\n### Where the time goes\n", table(split),
             "\n### Growth with cell count (fit of step time = a * cells^k over array sizes)\n", table(fits)]
    if failed:
        parts += ["\n### Failed points\n", "\n".join(failed) + "\n"]
    return parts


def merge_speed(args, out: Path) -> None:
    """--merge-speed CSV: the rows of another speed run (e.g. a 16x16 point run on its own) replace the rows of
    the same points in speed.csv, and speed.md is rebuilt from the merged rows; no tool runs."""
    main_rows = pd.read_csv(out / "speed.csv").to_dict("records")
    extra = pd.read_csv(args.merge_speed).to_dict("records")
    replaced = {r["point"] for r in extra}
    rows = [next(e for e in extra if e["point"] == r["point"]) if r["point"] in replaced else r for r in main_rows]
    rows += [e for e in extra if e["point"] not in {r["point"] for r in main_rows}]
    from flow.report import portable
    for r in rows:      # the failure notes name logs in the work tree that ran them: relative to it
        r["error"] = portable(r["error"], REPO) if isinstance(r.get("error"), str) else ""
    old = (out / "speed.md").read_text()
    command = re.search(r"^Command: (.*)$", old, re.M).group(1)
    extra_md = Path(args.merge_speed).with_suffix(".md")
    extra_cmd = re.search(r"^Command: `(.*?)`", extra_md.read_text(), re.M).group(1) if extra_md.exists() else "?"
    skipped = old.split("\n### Not run", 1)[1] if "\n### Not run" in old else ""
    header = (f"Points: {len(rows)}, verification on, run one at a time with nothing cached (macros hardened in an "
              f"empty cache per point). Rows of {', '.join(sorted(replaced))}: from `{extra_cmd}` "
              f"({Path(args.merge_speed).name}), run beside this one on the same machine and merged with "
              f"`python bench/run.py --merge-speed {args.merge_speed}` (no tool rerun).")
    parts = speed_parts(rows, header) + ([f"\n### Not run{skipped}"] if skipped else [])
    text = f"## Flow speed per step\n\nCommand: {command}\n\n" + "\n".join(parts)
    (out / "speed.md").write_text(text)
    pd.DataFrame(rows).to_csv(out / "speed.csv", index=False)
    print(text)


# ---------------------------------------------------------------- 2. sweep engine

def section_sweep(args, out: Path) -> None:
    """configs/ci-sweep.yaml via the CLI (what users run): 1 job, 2 jobs (both --force), then unchanged (cache)."""
    from flow.sweep import load_sweep
    src = REPO / "configs" / "ci-sweep.yaml"
    work = args.work / "sweep"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    runs, rows = [("1 job", 1, True), ("2 jobs", 2, True), ("2 jobs, unchanged (cache hits)", 2, False)], []
    data = yaml.safe_load(src.read_text())
    data["base"] = str((src.parent / data["base"]).resolve())
    points = len(load_sweep(src).points)
    seconds = {}
    for label, jobs, force in runs:
        data["name"] = f"bench-ci-j{jobs}"     # its own cache and build folder per job count
        path = work / f"{data['name']}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        cmd = [sys.executable, "-m", "flow.cli", "sweep", str(path), "--jobs", str(jobs), "--out", str(work)]
        cmd += ["--force"] if force else []
        load = os.getloadavg()[0]
        start = time.monotonic()
        with open(work / f"{data['name']}{'' if force else '-cached'}.log", "w") as log:
            proc = subprocess.run(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                  timeout=args.timeout or 3600)
        seconds[label] = time.monotonic() - start
        rows.append({"run": label, "jobs": jobs, "points": points, "wall [s]": round(seconds[label], 2),
                     "load average before": round(load, 2),
                     "status": "ok" if proc.returncode == 0 else f"exit {proc.returncode} (log: {log.name})",
                     "command": " ".join(["flow"] + cmd[3:]).replace(str(REPO) + "/", "")})
    speedup = seconds["1 job"] / seconds["2 jobs"]
    cached = seconds["2 jobs, unchanged (cache hits)"]
    summary = [{"measure": "1-job / 2-job wall time", "value": round(speedup, 2), "unit": "x",
                "note": f"goal >= 1.7; best possible with {points} equal points on 2 workers: "
                        f"{ideal_speedup(points, 2):.2f}"},
               {"measure": "cache-hit run (unchanged sweep)", "value": round(cached, 2), "unit": "s",
                "note": f"{100 * cached / seconds['2 jobs']:.1f}% of the 2-job run"}]
    parts = [f"`configs/ci-sweep.yaml` ({points} points, verification on), each run a fresh `flow sweep` process "
             "timed from start to exit (imports and report writing included).\n", table(rows), "\n", table(summary)]
    write_section("sweep", "Sweep engine: parallel speedup and cache hits", parts, pd.DataFrame(rows + summary),
                  out, args)


# ---------------------------------------------------------------- 3. bit-width trend

MULT_RTL = """module bench_mult(input signed [{c1}:0] a, input [{b1}:0] x, output signed [{w1}:0] p);
  assign p = a * $signed({{1'b0, x}});   // as each PE product: signed coef x unsigned basis, c+b+1 bits
endmodule
"""


def multiplier_area(pdk_name: str, b: int, c: int, period: float, strategy: str, work: Path) -> float:
    """Cell area [um^2] of a standalone b x c PE multiplier, through the flow's synthesis wrapper."""
    from flow.pdks import resolve
    from flow.tools.liberty import prepared_liberty
    from flow.tools.yosys_synth import synthesize
    pdk = resolve(pdk_name)
    work = work / f"mult_{pdk_name}_b{b}_c{c}"
    work.mkdir(parents=True, exist_ok=True)
    rtl = work / "bench_mult.v"
    rtl.write_text(MULT_RTL.format(c1=c - 1, b1=b - 1, w1=c + b))
    res = synthesize(rtl, "bench_mult", pdk, prepared_liberty(pdk), work / "yosys", period, strategy)
    return float(res.metrics["cell_area"].value)


def seed_from_other_sweeps(sweep, store: Path, reports: Path) -> int:
    """Copy finished points with the same key from other sweeps' stores (e.g. nightly) into `store`."""
    copied = 0
    for pt in sweep.points:
        if (store / f"{pt.key}.json").exists():
            continue
        for other in sorted(reports.glob(f"*/points/{pt.key}.json")):
            if other.parent != store and json.loads(other.read_text()).get("status") == "ok":
                store.mkdir(parents=True, exist_ok=True)
                shutil.copy(other, store / other.name)
                copied += 1
                break
    return copied


def hier_stat(point: dict) -> dict | None:
    """Per-module stat of the point's synthesis (before flattening), from its SiliconCompiler job folder."""
    metrics_json = Path(point.get("report_dir", "")) / "metrics.json"
    if not metrics_json.is_file():
        return None
    job = Path(json.loads(metrics_json.read_text()).get("job_dir", ""))
    stat = job / "synth" / "0" / "yosys" / "stat_hier.txt"
    return parse_stat_modules(stat.read_text()) if stat.is_file() else None


@functools.cache
def nand2_area(pdk_name: str) -> float:
    from flow.pdks import resolve
    from flow.units import node_units
    return node_units(resolve(pdk_name))["nand2_area"].value


def section_trend(args, out: Path) -> None:
    from flow.sweep import run_sweep
    pdks = args.pdks or list(ALL_PDKS)
    sweep = bench_sweep(BENCH / "trend.yaml", {"kan.table_bits": args.trend_bits, "pdk": pdks,
                                               "array": [args.trend_array]}, args.work)
    store = args.work / sweep.name / "points"
    copied = seed_from_other_sweeps(sweep, store, REPO / "reports")
    results = run_sweep(sweep, args.work, jobs=args.jobs, timeout=args.timeout or 3600, verify=True)
    rows, breakdown = [], []
    for pt in sweep.points:
        res = results[pt.key]
        p = pt.cfg.params
        area, fmax = value(res, "cell_area"), value(res, "fmax")
        rows.append({"pdk": pt.cfg.pdk, "array": f"{p.rows}x{p.cols}", "table_bits": p.table_bits,
                     "status": res["status"], "cell area [um^2]": area,
                     "area [NAND2-eq]": round(area / nand2_area(pt.cfg.pdk)) if area else None,
                     "fmax pre-route [MHz]": fmax, "cells": value(res, "cells"), "error": failure_note(res)})
        stat = hier_stat(res) if res["status"] == "ok" else None
        if not stat or "kan_pe" not in stat:
            continue
        mult = multiplier_area(pt.cfg.pdk, p.table_bits, p.coef_bits, pt.cfg.flow.clock_period_ns,
                               pt.cfg.flow.synth_strategy, args.work / "mult")
        n_pe, n_bs = p.rows * p.cols, p.rows
        pe = stat["kan_pe"]
        total = stat["kan_array"]["area"] + n_bs * stat["kan_bspline"]["area"] + n_pe * pe["area"]
        parts = {"multipliers": n_pe * p.n_active * mult,
                 "PE registers (coefficients, psum, pass-through)": n_pe * pe["sequential"],
                 "PE other logic (adders, coefficient select, load)":
                     n_pe * (pe["area"] - pe["sequential"] - p.n_active * mult),
                 "B-spline units (table, interval search)": n_bs * stat["kan_bspline"]["area"],
                 "array glue (skew, deskew, valid)": stat["kan_array"]["area"]}
        breakdown.append({"pdk": pt.cfg.pdk, "table_bits": p.table_bits, "total [um^2]": round(total, 1),
                          "multiplier b x c [um^2]": round(mult, 1),
                          **{f"{k} [um^2]": round(v, 1) for k, v in parts.items()},
                          **{f"{k.split(' (')[0]} [%]": round(100 * v / total, 1) for k, v in parts.items()}})
    frame = pd.DataFrame(rows)
    bd = pd.DataFrame(breakdown)
    cmp_rows, drivers = [], []
    for pdk in pdks:
        g = frame[(frame.pdk == pdk) & (frame.status == "ok")].set_index("table_bits")
        if {3, 16} <= set(g.index):
            cmp_rows.append({"pdk": pdk, "area 16 -> 3 [%]": round(pct(g.at[3, "cell area [um^2]"],
                                                                         g.at[16, "cell area [um^2]"]), 1),
                             "fmax 16 -> 3 [%]": round(pct(g.at[3, "fmax pre-route [MHz]"],
                                                           g.at[16, "fmax pre-route [MHz]"]), 1),
                             "reference 28 nm area [%]": REFERENCE_28NM["area"] * 100,
                             "reference 28 nm fmax [%]": REFERENCE_28NM["fmax"] * 100})
        b = bd[bd.pdk == pdk].set_index("table_bits") if not bd.empty else bd
        if not b.empty and {3, 16} <= set(b.index):
            saved = b.at[16, "total [um^2]"] - b.at[3, "total [um^2]"]
            for col in [c for c in b.columns if c.endswith("[um^2]") and c not in ("total [um^2]",
                                                                                    "multiplier b x c [um^2]")]:
                d = b.at[16, col] - b.at[3, col]
                drivers.append({"pdk": pdk, "component": col.removesuffix(" [um^2]"),
                                "share at 16 bits [%]": round(100 * b.at[16, col] / b.at[16, "total [um^2]"], 1),
                                "share at 3 bits [%]": round(100 * b.at[3, col] / b.at[3, "total [um^2]"], 1),
                                "area saved 16 -> 3 [um^2]": round(d, 1),
                                "of the saving [%]": round(100 * d / saved, 1) if saved else None})
    parts = [f"Array {args.trend_array}, table bits {span(args.trend_bits)}, synthesis (Yosys) + "
             "pre-route STA (OpenSTA), verification on, through the sweep engine "
             f"({copied} points copied from other sweeps' caches, e.g. nightly). Area: Yosys `stat` with liberty "
             "areas of the flat netlist; NAND2-eq: divided by the library's NAND2_1 area (flow.units).\n",
             "### Area and fmax vs table bits\n", table(rows),
             "\n### 16 -> 3 bits next to the reference study (KANtize, 28 nm)\n", table(cmp_rows),
             "\n### Per-module area breakdown (Yosys `stat` per module before flattening)\n"
             "Multipliers: a standalone b x c multiplier (same synthesis wrapper and script) times "
             "(degree+1) per PE; it is an estimate, as in context ABC can merge it with the adder tree. "
             "PE registers: area of the PE's sequential cells (Yosys `stat`).\n", table(breakdown),
             "\n### What drives the 16 -> 3 difference\n", table(drivers)]
    write_section("trend", "Bit-width trend: area and fmax vs basis-table bits", parts,
                  frame.merge(bd, on=["pdk", "table_bits"], how="left") if not bd.empty else frame, out, args)


# ---------------------------------------------------------------- 4. calibration

CALIB_RTL = """module bench_mult8(input sys_clk, input [7:0] a, input [7:0] b, output reg [15:0] p);
  reg [7:0] ra, rb;    // registered inputs and output: one reg-to-reg multiplier path
  always @(posedge sys_clk) begin ra <= a; rb <= b; p <= ra * rb; end
endmodule
"""


def section_calib(args, out: Path) -> None:
    """A registered 8x8 unsigned multiplier through the flow's synthesis, P&R and STA wrappers, per PDK."""
    from flow.pdks import resolve
    from flow.tools import qflow_pnr
    from flow.tools.liberty import prepared_liberty
    from flow.tools.opensta import run_sta
    from flow.tools.yosys_synth import synthesize
    from flow.units import node_units
    period = 10.0
    rows = []
    for name in args.pdks or ALL_PDKS:
        work = args.work / "calib" / name
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        rtl = work / "bench_mult8.v"
        rtl.write_text(CALIB_RTL)
        row = {"pdk": name, "status": "ok"}
        step, t0 = "synthesis", time.monotonic()
        try:
            pdk = resolve(name)
            lib = prepared_liberty(pdk)
            units = node_units(pdk)
            syn = synthesize(rtl, "bench_mult8", pdk, lib, work / "synth", period)
            row["synthesis [s]"] = round(time.monotonic() - t0, 2)
            area = syn.metrics["cell_area"].value
            row.update({"cells": syn.metrics["cells"].value, "registers": syn.metrics["registers"].value,
                        "cell area [um^2]": area, "area [NAND2-eq]": round(area / units["nand2_area"].value),
                        "FO4 [ps]": units["fo4_delay"].value})
            step = "pre-route STA"
            pre = run_sta(syn.netlist, "bench_mult8", lib, pdk, work / "sta_pre", period)
            row["fmax pre-route [MHz]"] = pre.metrics["preroute_fmax"].value
            row["period pre-route [FO4]"] = round(1e6 / row["fmax pre-route [MHz]"] / units["fo4_delay"].value, 1)
            step, t0 = "placement", time.monotonic()
            placed = qflow_pnr.place(syn.netlist, "bench_mult8", pdk, lib, work / "place")
            row["placement [s]"] = round(time.monotonic() - t0, 2)
            step, t0 = "routing", time.monotonic()
            routed = qflow_pnr.route(placed, pdk, work / "route")
            row["routing [s]"] = round(time.monotonic() - t0, 2)
            step = "post-route STA"
            post = run_sta(routed.netlist, "bench_mult8", lib, pdk, work / "sta_post", period, spef=routed.spef,
                           stage="postroute")
            row["fmax post-route [MHz]"] = post.metrics["postroute_fmax"].value
            row["period post-route [FO4]"] = round(1e6 / row["fmax post-route [MHz]"] / units["fo4_delay"].value, 1)
        except Exception as exc:
            row["status"] = f"failed in {step}: {type(exc).__name__}: {str(exc)[:300]} (work: {work})"
        rows.append(row)
    parts = ["A registered 8x8 unsigned multiplier (inputs and product registered), "
             f"{period:g} ns clock constraint, through flow/tools: synthesis (Yosys, area strategy), placement "
             "(graywolf), routing (qrouter), STA (OpenSTA, post-route with the router's SPEF). Hold the NAND2-eq "
             "area and the period in FO4 against published open-PDK multiplier results.\n", table(rows)]
    write_section("calib", "Calibration: registered 8x8 multiplier per PDK", parts, pd.DataFrame(rows), out, args)


# ---------------------------------------------------------------- 5. gpu (optional: torch KAN layers)

def section_gpu(args, out: Path) -> None:
    """kan/gpu layers: recursion (eager, torch.compile) vs basis-table layers; writes gpu-<cuda|cpu>.md/.csv."""
    try:
        import torch
    except ImportError:
        from kan.gpu import MISSING_TORCH
        sys.exit(f"bench gpu: {MISSING_TORCH}")
    from kan.gpu import bench as gpu_bench

    device = torch.device(args.gpu_device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cpu":
        torch.set_num_threads(args.gpu_threads)
    name = gpu_bench.device_name(device)
    print(f"gpu: device {name}")
    rows = gpu_bench.run(args.gpu_shapes, args.gpu_batches, args.gpu_bits, device, args.gpu_min_time)
    missing = lambda v: v == "" or (isinstance(v, float) and math.isnan(v))
    measured = [k for k in rows[0] if not all(missing(r[k]) for r in rows)]
    shown = [{k: r[k] for k in measured if "samples/s" not in k or k.startswith(gpu_bench.TABLE_IMPLS)}
             for r in rows]
    fused_note = ("" if device.type == "cuda" else
                  "The fused Triton kernels are not timed on CPU (Triton compiles for GPUs; its interpreter, which "
                  "the tests use, is a correctness tool): their columns are left out here and empty in the CSV. ")
    parts = [f"Device: **{name}**. Shapes {', '.join(args.gpu_shapes)}; batch {span(args.gpu_batches)}; table "
             f"bits {span(args.gpu_bits)}; formats G=5, p=3, 8-bit inputs and coefficients, table depth 256. "
             "Latency: median of timed calls after warm-up (at least 3 calls, more until "
             f"{args.gpu_min_time} s); `X vs Y` = Y latency / X latency; peak = bytes allocated during one call "
             "above those before it; compile = the first call of the torch.compile'd recursion (compile + run, "
             "on-disk compile caches off). Eager and compiled recursion are float32 (default matmul precision, "
             "no TF32) and do not depend on the table bits (measured once per shape and batch, repeated on each "
             "row). " + fused_note + "Throughput [samples/s] of every layer is in the CSV.\n",
             gpu_bench.largest_point_summary(rows) + "\n", table(shown)]
    write_section(f"gpu-{device.type}", f"KAN inference on {device.type.upper()}: basis-table layers vs recursion",
                  parts, pd.DataFrame(rows), out, args)


# ---------------------------------------------------------------- main

def write_readme(out: Path, machine: str) -> None:
    body = [(out / f"{s}.md").read_text() for s in SECTIONS if (out / f"{s}.md").exists()]
    body += [f.read_text() for f in sorted(out.glob("gpu-*.md"))]
    head = ["# KAN flow benchmarks", "",
            f"Machine of the last run: {machine}.", "",
            "Each section below is also in `<section>.md` / `.csv` here; sections rerun separately "
            "(`--sections`). Comparisons are ratios from one run; absolute times depend on the machine and its load.",
            ""]
    (out / "README.md").write_text("\n".join(head) + "\n" + "\n".join(body))


# ---------------------------------------------------------------- 5. FPGA target

REFERENCE_FPGA = {"resources": -0.36, "fmax": +0.50}   # KANtize on FPGA, 8 -> 3 bit table (flow/report.py plots it)


def step_times(m: dict) -> list[dict]:
    """Per step of an FPGA run (metric values by name): wall clock (runtime_*) and CPU time (cputime_*: the step's
    processes, load-independent; not recorded for rtl and rtlsim), each nextpnr seed on its own row."""
    steps = sorted(k.removeprefix("runtime_") for k in m if k.startswith("runtime_") and k != "runtime_total")
    return [{"step": s, "wall [s]": m[f"runtime_{s}"], "CPU [s]": m.get(f"cputime_{s}")} for s in steps]


def section_fpga(args, out: Path) -> None:
    """b3 4x4 on ECP5 through routing, timed per step from an empty work folder; then 8 -> 3 bit ratios of every
    resource and of the median fmax (with each point's seed spread) per array, device and DSP setting."""
    from flow.physical import run_config
    from flow.sweep import run_sweep
    cfg = config_mod.load(REPO / "configs/b3-ecp5.yaml")
    work = args.work / "fpga-b3"
    shutil.rmtree(work, ignore_errors=True)
    load_before = os.getloadavg()[0]
    res = run_config(cfg, work / "report", verify=False, work_dir=work / "sc")
    load_after = os.getloadavg()[0]
    m = {k: v["value"] for k, v in res["metrics"].items()}
    timing = step_times(m)
    timing.append({"step": "total (wall clock, verification off)", "wall [s]": m["runtime_total"]})
    through_route = m["runtime_total"] - m.get("runtime_bitstream", 0)
    cpu_through_route = sum(m.get(f"cputime_{s}", 0) for s in ("fpga_synth", "pnr"))
    sweep = bench_sweep(BENCH / "fpga.yaml", {"array": args.fpga_arrays, "fpga.device": args.fpga_devices},
                        args.work)
    store = args.work / sweep.name / "points"
    copied = seed_from_other_sweeps(sweep, store, REPO / "reports")
    results = run_sweep(sweep, args.work, jobs=args.jobs, timeout=args.timeout or 3600, verify=True)
    rows = []
    for pt in sweep.points:
        r, c = results[pt.key], pt.cfg
        rows.append({"device": c.platform, "array": f"{c.array.rows}x{c.array.cols}", "dsp": c.fpga.dsp,
                     "table_bits": c.kan.table_bits, "status": r["status"],
                     **{k: value(r, k) for k in ("fpga_lut4", "fpga_ff", "fpga_ccu2", "fpga_dsp", "fpga_bram",
                                                 "fpga_resources", "fmax", "fmax_min", "fmax_max", "fmax_spread")},
                     "error": failure_note(r)})
    frame = pd.DataFrame(rows)
    ratios = []
    for (device, array, dsp), g in frame[frame.status == "ok"].groupby(["device", "array", "dsp"]):
        g = g.set_index("table_bits")
        if {3, 8} <= set(g.index):
            ratios.append({"device": device, "array": array, "dsp": dsp,
                           **{f"{k} 8 -> 3 [%]": round(pct(g.at[3, k], g.at[8, k]), 1) if g.at[8, k] else None
                              for k in ("fpga_lut4", "fpga_ff", "fpga_dsp", "fpga_resources", "fmax")},
                           "fmax spread 8 / 3 bit [%]": f"{g.at[8, 'fmax_spread']} / {g.at[3, 'fmax_spread']}",
                           "reference resources [%]": REFERENCE_FPGA["resources"] * 100,
                           "reference fmax [%]": REFERENCE_FPGA["fmax"] * 100})
    verified = next((results[pt.key] for pt in sweep.points if pt.cfg.fpga.dsp and pt.cfg.kan.table_bits == 3
                     and (pt.cfg.array.rows, pt.cfg.array.cols) == (4, 4) and results[pt.key]["status"] == "ok"), None)
    parts = [f"configs/b3-ecp5.yaml (4x4, ECP5 85k, 3 seeds) from an empty work folder, verification off: "
             f"**{through_route:.0f} s through routing** wall clock (total less the bitstream) at load average "
             f"{load_before:.1f} -> {load_after:.1f} on {os.cpu_count()} cores, "
             f"{cpu_through_route:.0f} CPU-seconds (synthesis + every seed); {m.get('fpga_parallel_seeds')} seeds at "
             f"once; median fmax {m.get('fmax')} MHz (seeds {m.get('fmax_min')}..{m.get('fmax_max')}). The wall clock "
             "is the machine's load as much as the flow's: CPU time is the load-independent figure.\n", table(timing)]
    if verified:
        vm = {k: v["value"] for k, v in verified["metrics"].items()}
        parts += [f"\nThe same design with verification (RTL and ECP5 netlist simulation of "
                  f"{vm.get('verify_fpga_vectors')} vectors, 0 mismatches required): the sweep point below "
                  f"({verified['name']}), as it ran in its sweep.\n", table(step_times(vm))]
    parts += [f"\n### 8 -> 3 bits per array, device and multiplier mapping\n\nSweep bench/fpga.yaml ({copied} "
               "points copied from other sweeps' stores, e.g. fpga-trend); resources: the synthesized primitive counts "
               "and the combined figure (mean of the LUT, FF, DSP, BRAM utilizations); fmax: median of the seeds, "
               "spread = (max - min) / median. Reference: KANtize on FPGA, -36% resources, +50% clock.\n",
               table(ratios), "\n### Points\n", table(rows)]
    write_section("fpga", "FPGA target (ECP5): time through routing, 8 -> 3 bit ratios", parts,
                  pd.concat([frame, pd.DataFrame(ratios)], ignore_index=True), out, args)


def parse_args(argv: list[str]) -> argparse.Namespace:
    csv = lambda s: [x.strip() for x in s.split(",") if x.strip()]
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sections", type=csv, default=list(SECTIONS),
                   help="comma list of " + ",".join(SECTIONS + OPTIONAL_SECTIONS) + " (default: all but gpu)")
    p.add_argument("--arrays", type=csv, default=["1x1", "2x2", "4x4", "8x8"], help="speed: array sizes")
    p.add_argument("--bits", type=lambda s: [int(x) for x in csv(s)], default=[3, 16], help="speed: table bits")
    p.add_argument("--physical", type=csv, default=["tiled"], help="speed: flat and/or tiled (default tiled)")
    p.add_argument("--skip", type=csv, default=[], help="speed: points not to run, shell patterns over "
                   "'<rows>x<cols> b<bits> <pdk> <flat|tiled>' (e.g. '4x4 * flat,8x8 b16 *'), listed as not run")
    p.add_argument("--vectors", type=int, default=2000, help="speed: verification vectors (default 2000)")
    p.add_argument("--power-vectors", type=int, default=500, help="speed: power workload vectors (default 500, "
                   "the config's; 0 = no power step)")
    p.add_argument("--pdks", type=csv, help="PDKs (default: speed sky130hd; trend and calib " + ",".join(ALL_PDKS)
                   + ")")
    p.add_argument("--trend-array", default="4x4", help="trend: array size (default 4x4)")
    p.add_argument("--trend-bits", type=lambda s: [int(x) for x in csv(s)], default=list(range(2, 17)),
                   help="trend: table bits (default 2..16; must include 3 and 16 for the comparison)")
    p.add_argument("--fpga-arrays", type=csv, default=["2x2", "4x4"], help="fpga: array sizes (default 2x2,4x4)")
    p.add_argument("--fpga-devices", type=csv, default=["85k"], help="fpga: ECP5 devices (default 85k)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="trend, fpga: points run at once")
    p.add_argument("--timeout", type=float, help="seconds before a point is killed and recorded failed "
                   "(default 3600)")
    p.add_argument("--quick", action="store_true", help="smoke run: speed 1x1 b3, trend 1x1 b2,3,16")
    p.add_argument("--gpu-shapes", type=csv, default=["64x32", "1024x1024", "784-256-10"],
                   help="gpu: layers INxOUT and networks A-B-C (default 64x32,1024x1024,784-256-10)")
    p.add_argument("--gpu-batches", type=lambda s: [int(x) for x in csv(s)], default=[1, 4, 16, 64, 256, 1024, 4096],
                   help="gpu: batch sizes (default 1,4,16,64,256,1024,4096)")
    p.add_argument("--gpu-bits", type=lambda s: [int(x) for x in csv(s)], default=list(range(2, 9)),
                   help="gpu: table bits (default 2..8)")
    p.add_argument("--gpu-device", help="gpu: torch device (default cuda when present, else cpu)")
    p.add_argument("--gpu-threads", type=int, default=1, help="gpu: torch threads on CPU (default 1)")
    p.add_argument("--gpu-min-time", type=float, default=0.2, help="gpu: seconds of timed calls per point")
    p.add_argument("--merge-speed", metavar="CSV", help="no run: merge the rows of another speed run's CSV into "
                   "speed.csv (same points replaced) and rebuild speed.md and README.md from them")
    p.add_argument("--out", type=Path, default=OUT, help="tables: <section>.md/.csv, README.md (default reports/bench)")
    p.add_argument("--work", type=Path, default=WORK, help="point results, netlists, logs (default build/bench)")
    args = p.parse_args(argv)
    bad = [s for s in args.sections if s not in SECTIONS + OPTIONAL_SECTIONS]
    if bad:
        p.error(f"unknown section(s) {', '.join(bad)}; choose from {', '.join(SECTIONS + OPTIONAL_SECTIONS)}")
    try:
        [parse_shape(shape) for shape in args.gpu_shapes]
    except ValueError as exc:
        p.error(str(exc))
    if args.quick:
        args.arrays, args.bits, args.trend_array, args.trend_bits = ["1x1"], [3], "1x1", [2, 3, 16]
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    args.argv = argv
    os.chdir(REPO)
    info = machine_info(Path("/proc/cpuinfo").read_text(), Path("/proc/meminfo").read_text(), os.cpu_count() or 0)
    args.machine = (f"{info['cpu']}, {info['nproc']} cores (nproc), {info['memory [GiB]']} GiB memory "
                    "(/proc/cpuinfo, /proc/meminfo)")
    print(f"machine: {args.machine}")
    if args.merge_speed:
        merge_speed(args, args.out)
        write_readme(args.out, re.search(r"^Machine of the last run: (.*)\.$", (args.out / "README.md").read_text(),
                                         re.M).group(1))
        return 0
    procs.interruptible()
    try:
        for name in args.sections:
            start = time.monotonic()
            globals()[f"section_{name}"](args, args.out)
            print(f"[{name}: {time.monotonic() - start:.0f} s]\n")
    except procs.Interrupted as exc:   # a SIGTERM to this process alone must not leave its sweeps and tools running
        procs.stop_all()
        print(f"interrupted ({exc}): stopped every run the bench started; sections already written are kept",
              file=sys.stderr)
        return exc.exit_code
    write_readme(args.out, args.machine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
