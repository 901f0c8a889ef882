"""summary.md of a `target: fpga` run (flow.physical.summary_markdown hands FPGA points here): resources, the
device's utilization, fmax over the seeds, the netlist check and the run times."""
from __future__ import annotations

from ..config import Config
from ..metrics import Metric

ROWS = (   # (label, metric); a metric absent from the run reads "not recorded"
    ("device", "fpga_device"),
    ("LUT4", "fpga_lut4"), ("flip-flops", "fpga_ff"), ("carry cells", "fpga_ccu2"),
    ("DSP multipliers", "fpga_dsp"), ("block RAMs", "fpga_bram"),
    ("LUT utilization (TRELLIS_COMB)", "util_lut"), ("FF utilization", "util_ff"), ("DSP utilization", "util_dsp"),
    ("BRAM utilization", "util_bram"), ("I/O utilization", "util_io"),
    ("resources (mean of LUT, FF, DSP, BRAM utilization)", "fpga_resources"),
    ("fmax (median of the seeds)", "fmax"), ("fmax, slowest seed", "fmax_min"), ("fmax, fastest seed", "fmax_max"),
    ("fmax spread (max - min) / median", "fmax_spread"), ("throughput", "throughput"),
    ("RTL simulation mismatches", "verify_rtl_mismatches"),
    ("ECP5 netlist simulation mismatches", "verify_fpga_mismatches"),
    ("ECP5 netlist simulation vectors", "verify_fpga_vectors"), ("bitstream", "bitstream_size"),
)


def fpga_summary_markdown(cfg: Config, metrics: dict[str, Metric], error, logs: list[str] | None = None) -> str:
    from ..pdks import REPO
    from ..physical import metric_text
    from ..report import human, portable
    p = cfg.params
    lines = [f"# {cfg.name}: {p.rows}x{p.cols} KAN array, b={p.table_bits}, {cfg.platform} "
             f"(dsp {str(cfg.fpga.dsp).lower()}, table {cfg.fpga.table_ram}, seeds "
             f"{', '.join(map(str, cfg.fpga.seeds))}), {cfg.flow.clock_period_ns:g} ns target, through "
             f"{cfg.flow.stop_after}", "",
             f"Status: {'FAILED: ' + portable(error, REPO) if error else 'ok'}", "",
             "| metric | value | tool | source |", "|---|---|---|---|"]
    for label, name in ROWS:
        m = metrics.get(name)
        lines.append(f"| {label} | not recorded | | |" if m is None else
                     f"| {label} | {metric_text(m)} | {m.tool} | {portable(m.source, REPO)} |")
    seeds = sorted((n for n in metrics if n.startswith("fmax_seed")), key=lambda n: int(n.removeprefix("fmax_seed")))
    if seeds:
        par = metrics.get("fpga_parallel_seeds")
        lines += ["", "## Seeds", ""]
        if par:     # not recorded by runs before the seeds ran side by side
            lines += [f"{metric_text(par)} at once (separate single-threaded nextpnr processes).", ""]
        lines += ["| seed | fmax | nextpnr run time (wall) | nextpnr CPU time |", "|---|---|---|---|"]
        for n in seeds:
            seed = n.removeprefix("fmax_seed")
            t, cpu = metrics.get(f"runtime_nextpnr_seed{seed}"), metrics.get(f"cputime_nextpnr_seed{seed}")
            lines.append(f"| {seed} | {metric_text(metrics[n])} | {metric_text(t) if t else 'not recorded'} | "
                         f"{metric_text(cpu) if cpu else 'not recorded'} |")
    runtimes = sorted(n for n in metrics if n.startswith("runtime_") and "_seed" not in n)
    if runtimes:
        lines += ["", "## Run time", "", "Wall clock (SiliconCompiler tasktime; it grows with the machine's load) and "
                  "CPU time (user + system of the step's processes).", "", "| step | wall [s] | CPU [s] |",
                  "|---|---|---|"]
        for n in runtimes:
            cpu = metrics.get(n.replace("runtime_", "cputime_", 1))
            lines.append(f"| {n.removeprefix('runtime_')} | {human(metrics[n].value)} | "
                         f"{human(cpu.value) if cpu else ''} |")
    lines += ["", "## Files", "", "- all metrics with their tools and sources: [metrics.json](metrics.json)"]
    if logs:
        lines.append("- logs: " + ", ".join(f"[{name}](logs/{name})" for name in logs))
    return "\n".join(lines) + "\n"
