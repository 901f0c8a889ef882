"""`flow run`: one design point through a SiliconCompiler ASIC project, and its report folder.

Flowgraph (flow/sc_tasks.py), cut at `flow.stop_after`; the two simulations drop out with verify=False:

    rtl -> rtlsim -> synth -> gatesim -> sta_synth | -> place | -> route -> sta_route
    tiled (flow.physical): rtl -> rtlsim -> synth -> sta_synth -> tiled (its gate-level check replaces gatesim)

SiliconCompiler runs it in <work>/<design>/<job>/<step>/0/ (its logs, manifests and resume). The library is the
lambdapdk class of the PDK with its `lambdapdk` dataroot pointed at the local data (pdks.resolve); osu018 has
no lambdapdk class, so the project gets a minimal SiliconCompiler PDK + StdCellLibrary built from PdkInfo (its
liberty and LEF). Either way the tasks take their paths from PdkInfo: SiliconCompiler holds the library for
the record (manifest, hashes), our tasks read the same files.

The report folder gets metrics.json ({name: {value, unit, tool, source}}), summary.md, logs/, the netlists, DEF,
SPEF and the die picture.
"""
from __future__ import annotations

import importlib
import json
import shutil
import time
from pathlib import Path

from . import sc_tasks
from .config import Config
from .errors import FlowError, ToolMissing
from .metrics import Metric, current_names, headline
from .pdks import REPO, PdkInfo, copy_log, resolve
from .units import node_units
from .versions import code_hash, tool_versions

DESIGN = sc_tasks.TOP
# (step, task class, verification only?, last stop_after level that still runs it)
STEPS = (("rtl", sc_tasks.RtlTask, False, "synth"), ("rtlsim", sc_tasks.RtlSimTask, True, "synth"),
         ("synth", sc_tasks.SynthTask, False, "synth"), ("gatesim", sc_tasks.GateSimTask, True, "synth"),
         ("sta_synth", sc_tasks.PreStaTask, False, "synth"), ("place", sc_tasks.PlaceTask, False, "place"),
         ("route", sc_tasks.RouteTask, False, "route"), ("sta_route", sc_tasks.PostStaTask, False, "route"),
         ("power", sc_tasks.PowerTask, False, "route"))
# Tiled mode: one node hardens, tiles and routes (it cannot stop after placement: place runs it whole).
TILED_STEPS = STEPS[:5] + (("tiled", sc_tasks.TiledTask, False, "place"),
                           ("power", sc_tasks.TiledPowerTask, False, "route"))
POWER_STEPS = ("power",)   # dropped with flow.power_vectors: 0
LEVELS = ("synth", "place", "route")


def steps_for(cfg: Config, verify: bool) -> list[tuple[str, type]]:
    stop = LEVELS.index(cfg.flow.stop_after)
    tiled = cfg.physical_mode == "tiled" and stop > 0
    steps = TILED_STEPS if cfg.physical_mode == "tiled" else STEPS
    # the tiled node simulates its own routed gate netlist (the same cells); the flat synthesized one would be a
    # second gate-level simulation of the whole array (8x8: 1,323 s in Icarus)
    return [(s, cls) for s, cls, ver, level in steps
            if LEVELS.index(level) <= stop and (verify or not ver) and not (tiled and s == "gatesim")
            and not (s in POWER_STEPS and cfg.flow.power_vectors == 0)]


def check_tools(steps: list[str]) -> None:
    """Fail before starting when a tool a step needs is missing: one line with the install command."""
    needs = {"rtlsim": [("iverilog", "apt-get install -y iverilog")],
             "gatesim": [("iverilog", "apt-get install -y iverilog")],
             "sta_synth": [("sta", "apt-get install -y opensta")],
             "power": [("iverilog", "apt-get install -y iverilog"), ("sta", "apt-get install -y opensta")],
             "place": [("graywolf", "apt-get install -y graywolf qflow")],
             "route": [("qrouter", "apt-get install -y qrouter")],
             "tiled": [("graywolf", "apt-get install -y graywolf qflow"), ("qrouter", "apt-get install -y qrouter")]}
    for step in steps:
        for exe, install in needs.get(step, []):
            if shutil.which(exe) is None and not Path("/usr/lib/qflow/bin", exe).exists():
                raise ToolMissing(exe, install)
    if "synth" in steps:
        from .tools.yosys_synth import libyosys
        libyosys()


def _library(pdk: PdkInfo):
    """The SiliconCompiler library object of the PDK (see the module docstring)."""
    from siliconcompiler import PDK, StdCellLibrary
    if not pdk.lambdapdk_class:
        tech = PDK(pdk.name)
        tech.set_node(pdk.node_nm)
        lib = StdCellLibrary(pdk.library)
        lib.add_asic_pdk(tech)
        with lib.active_fileset("models.timing.typical.nldm"):
            lib.add_file(str(pdk.liberty_files[0]))
            lib.add_asic_libcornerfileset("typical", "nldm")
        with lib.active_fileset("models.physical"):
            lib.add_file(str(pdk.cell_lef))
        return lib
    module, cls = pdk.lambdapdk_class.split(":")
    lib = getattr(importlib.import_module(module), cls)()
    lib.set_dataroot("lambdapdk", str(pdk.lambdapdk_root / "lambdapdk"), clobber=True)
    if not lib.get("asic", "pdk"):   # gf180 5LM offers 9K and 11K top metal, no default: the one our tech LEF is
        from siliconcompiler import PDK
        lef = pdk.tech_lef.name.lower()
        lib.set("asic", "pdk", next(d.name for d in lib.get_dep() if isinstance(d, PDK)
                                    and d.get("pdk", "stackup").lower() in lef))
    return lib


def build_project(cfg: Config, pdk: PdkInfo, work_dir: Path, jobname: str, verify: bool, pdk_root=None,
                  scheduler: str = "local", queue: str | None = None):
    from siliconcompiler import ASIC, Design

    design = Design(DESIGN)
    with design.active_fileset("rtl"):
        design.set_topmodule(DESIGN)
    proj = ASIC(design)
    proj.add_fileset("rtl")
    lib = _library(pdk)
    proj.set_mainlib(lib)
    # what SiliconCompiler infers from the main library with a WARNING line on every run: said here instead
    proj.set("asic", "pdk", lib.get("asic", "pdk"))
    proj.set("asic", "asiclib", [proj.get("asic", "mainlib")])
    proj.set("asic", "delaymodel", "nldm")
    steps = steps_for(cfg, verify)
    configure_project(proj, cfg, steps, work_dir, jobname, verify, pdk_root, scheduler, queue)
    return proj, [s for s, _ in steps]


def configure_project(proj, cfg: Config, steps: list[tuple[str, type]], work_dir: Path, jobname: str, verify: bool,
                      pdk_root, scheduler: str, queue: str | None = None) -> None:
    """The flowgraph of `steps` (a chain), every task's vars and the run options: shared by the ASIC and the
    FPGA project (flow/fpga/project.py)."""
    from siliconcompiler import Flowgraph

    flow = Flowgraph("kanflow")
    for step, cls in steps:
        flow.node(step, cls())
    for (tail, _), (head, _) in zip(steps, steps[1:]):
        flow.edge(tail, head)
    proj.set_flow(flow)
    data = json.dumps({**cfg.to_dict(), "name": cfg.name})
    for _, cls in steps:
        for task in _as_set(cls.find_task(proj)):
            task.set("var", "kanconfig", data)
            task.set("var", "pdkroot", str(pdk_root or ""))
            task.set("var", "flowcode", code_hash())
            if isinstance(task, sc_tasks.TiledTask):
                task.set("var", "gateverify", verify)
    proj.set("option", "builddir", str(work_dir))
    proj.set("option", "jobname", jobname)
    proj.set("option", "nodisplay", True)
    proj.set("option", "quiet", True)
    if scheduler != "local":
        proj.set("option", "scheduler", "name", scheduler)
    if queue:                          # the Slurm partition (else the cluster's default)
        proj.set("option", "scheduler", "queue", queue)


def _as_set(found):
    return found if isinstance(found, set) else {found}


def run_config(cfg: Config, out_dir: Path, verify: bool = True, pdk_root=None, jobname: str | None = None,
               work_dir: Path | None = None, scheduler: str = "local", queue: str | None = None) -> dict:
    """Run one design point; returns {"metrics": {name: Metric.as_dict()}, "status": "ok"|"failed",
    "error": one line or None, "report_dir": str, "job_dir": str}. Missing PDK data or tools raise
    (PdkMissing exit 2, ToolMissing); a failing step returns status "failed" with its message."""
    out_dir = Path(out_dir).resolve()
    work_dir = Path(work_dir or REPO / "build" / cfg.name / "sc").resolve()
    jobname = jobname or cfg.name
    if cfg.target == "fpga":
        from .fpga.project import build_fpga_project, check_fpga_tools
        pdk = None
        proj, steps = build_fpga_project(cfg, work_dir, jobname, verify, scheduler, queue)
        check_fpga_tools(steps)
    else:
        pdk = resolve(cfg.pdk, pdk_root)
        proj, steps = build_project(cfg, pdk, work_dir, jobname, verify, pdk_root, scheduler, queue)
        check_tools(steps)
    if "power" in steps and cfg.flow.power_workload == "model":      # before any tool runs: exit 2, one line
        from kan.accuracy import check_fits
        check_fits(REPO / cfg.model, cfg.params, cfg.source, cfg.model)
    job_dir = work_dir / DESIGN / jobname
    start = time.monotonic()
    error = None
    try:
        proj.run()
    except Exception as exc:
        error = f"siliconcompiler: {type(exc).__name__}: {exc}"
    wall = time.monotonic() - start
    failure = _first_failure(job_dir, steps) or (error and _unfinished_step(job_dir, steps))
    if failure or error:
        error = failure or f"{error} (logs: {job_dir})"
    metrics = collect_metrics(proj, job_dir, jobname, steps, cfg, wall, pdk)
    write_report(out_dir, job_dir, steps, metrics, cfg, error)
    return {"metrics": {k: m.as_dict() for k, m in metrics.items()}, "status": "failed" if error else "ok",
            "error": error, "report_dir": str(out_dir), "job_dir": str(job_dir)}


def _first_failure(job_dir: Path, steps: list[str]) -> str | None:
    for step in steps:
        err = job_dir / step / "0" / sc_tasks.ERROR_FILE
        if err.exists():
            return json.loads(err.read_text())["message"]
    return None


def _unfinished_step(job_dir: Path, steps: list[str]) -> str | None:
    """For a run that stopped without a step's own message (a node killed, or one that never started: a Slurm
    job without this project's Python): the first step without a result, named with its logs' last line."""
    from .slurm import node_logs

    for step in steps:
        if not (job_dir / step / "0" / "outputs" / f"{DESIGN}.pkg.json").exists():
            logs = node_logs(job_dir, step)
            last = _last_line(logs[-1]) if logs else ""
            return (f"step {step} ended without a result" + (f": {last}" if last else "")
                    + f" (logs: {', '.join(map(str, logs)) or job_dir / step})")
    return None


def _last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def node_independent(metrics: dict[str, Metric], pdk: PdkInfo) -> dict[str, Metric]:
    """Area in NAND2 gates and the fmax clock period in FO4 delays of the PDK's own library, so 7, 130 and
    180 nm results compare with each other and with the 28 nm study."""
    if "cell_area" not in metrics:
        return {}                      # nothing to normalize (and the liberty may be what failed)
    units = node_units(pdk)
    out = dict(units)
    nand2, fo4 = units["nand2_area"], units["fo4_delay"]
    out["cell_area_nand2"] = Metric(round(metrics["cell_area"].value / nand2.value, 1), "NAND2",
                                    "flow (cell_area / nand2_area)", metrics["cell_area"].source)
    if "fmax" in metrics:
        period_ps = 1e6 / metrics["fmax"].value
        out["period_fo4"] = Metric(round(period_ps / fo4.value, 2), "FO4", "flow (1/fmax / fo4_delay)",
                                   metrics["fmax"].source)
    return out


def model_accuracy(cfg: Config) -> dict[str, Metric]:
    """The named model's float and quantized score on this point's formats (bit-exact golden-model inference)."""
    from kan import accuracy_for

    res = accuracy_for(REPO / cfg.model, cfg.params)
    unit = "%" if "%" in res["metric"] else ""
    tool = "kan.accuracy_for (golden-model integer inference)"
    return {"model_score_float": Metric(res["float"], unit, tool + f", {res['metric']}", cfg.model),
            "model_score": Metric(res["quantized"], unit, tool + f", {res['metric']}", cfg.model)}


def collect_metrics(proj, job_dir: Path, jobname: str, steps: list[str], cfg: Config, wall: float,
                    pdk: PdkInfo) -> dict:
    metrics: dict[str, Metric] = {}
    for step in steps:
        path = job_dir / step / "0" / sc_tasks.METRICS_FILE
        if path.exists():
            metrics.update({k: Metric(**m) for k, m in json.loads(path.read_text()).items()})
    try:
        history = proj.history(jobname)
    except Exception:
        history = None
    manifest = f"{DESIGN}.pkg.json"   # the job manifest, in the job folder like every source here
    for step in steps:
        t = history.get("metric", "tasktime", step=step, index="0") if history else None
        if t is not None:
            metrics[f"runtime_{step}"] = Metric(round(t, 2), "s", "siliconcompiler tasktime", manifest)
    metrics["runtime_total"] = Metric(round(wall, 2), "s", "flow (wall clock of the SiliconCompiler run)", "")
    metrics.update(headline(metrics))
    metrics["clock_period"] = Metric(cfg.flow.clock_period_ns, "ns", "flow config", "flow.clock_period_ns")
    if cfg.model:
        metrics.update(model_accuracy(cfg))
    mode = cfg.physical_mode if cfg.flow.stop_after != "synth" else "none (stopped after synthesis)"
    if cfg.target == "fpga":
        mode = "fpga (nextpnr-ecp5)" if cfg.flow.stop_after != "synth" else "none (stopped after synthesis)"
    metrics.setdefault("physical_mode", Metric(mode, "", "flow config", "flow.physical"))
    if pdk is not None:
        metrics.update(node_independent(metrics, pdk))
    for tool, version in tool_versions().items():
        metrics[f"version_{tool}"] = Metric(version, "", "flow.versions (dpkg-query / importlib.metadata)", "")
    return dict(sorted(metrics.items()))


def write_report(out_dir: Path, job_dir: Path, steps: list[str], metrics: dict, cfg: Config, error) -> None:
    """reports/<name>/: metrics.json, summary.md, logs/, netlists, DEF, SPEF, die PNG."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "logs").mkdir(exist_ok=True)
    for step in steps:
        node = job_dir / step / "0"
        for log in [node / f"{step}.log", *node.glob("*/*.log"), *node.glob("*/*/*.log")]:
            if log.is_file():
                rel = log.relative_to(node)
                copy_log(log, out_dir / "logs" / f"{step}__{'__'.join(rel.parts)}")
    copies = {"synth/0/outputs/kan_array.vg": "kan_array_synth.vg",
              "route/0/outputs/kan_array.vg": "kan_array_routed.vg",
              "route/0/outputs/kan_array.def": "kan_array_routed.def", "route/0/outputs/kan_array.spef":
              "kan_array_routed.spef", "place/0/outputs/kan_array.def": "kan_array_placed.def",
              "route/0/reports/kan_array_die.png": "kan_array_die.png", "synth/0/yosys/stat.txt": "yosys_stat.txt",
              "tiled/0/outputs/kan_array.def": "kan_array_routed.def", "tiled/0/outputs/kan_array.vg":
              "kan_array_routed.vg", "tiled/0/outputs/kan_array.spef": "kan_array_routed.spef",
              "tiled/0/reports/kan_array_die.png": "kan_array_die.png",
              "fpga_synth/0/yosys/stat.txt": "yosys_fpga_stat.txt", "fpga_synth/0/outputs/kan_array.vg":
              "kan_array_fpga.vg", "pnr/0/outputs/kan_array.config": "kan_array_fpga.config",
              "bitstream/0/outputs/kan_array.bit": "kan_array.bit"}
    for src, dst in copies.items():
        if (job_dir / src).exists():
            shutil.copy(job_dir / src, out_dir / dst)
    data = {"config": cfg.to_dict(), "status": "failed" if error else "ok", "error": error, "job_dir": str(job_dir),
            "metrics": {k: m.as_dict() for k, m in metrics.items()}}
    write_summary(out_dir, data)


def write_summary(out_dir: Path, data: dict) -> Path:
    """metrics.json (paths made portable: relative to the work tree) and summary.md from the same data; the
    summary reads a run stored before a metric rename under today's names (metrics.current_names), metrics.json
    keeps the names the run recorded."""
    from .report import portable_tree

    data = portable_tree(data, REPO)
    (out_dir / "metrics.json").write_text(json.dumps(data, indent=1) + "\n")
    cfg = _stored_config(data["config"])
    metrics = {k: Metric(**m) for k, m in current_names(data["metrics"]).items()}
    metrics.update(_paths_from_logs(out_dir / "logs", metrics, cfg.flow.clock_period_ns))
    path = out_dir / "summary.md"
    logs = sorted(p.name for p in (out_dir / "logs").glob("*")) if (out_dir / "logs").is_dir() else []
    path.write_text(summary_markdown(cfg, metrics, data.get("error"), logs, (out_dir / "kan_array_die.png").exists()))
    return path


def rewrite_report(out_dir: Path) -> Path:
    """`flow report <run folder>`: summary.md and metrics.json again from the stored metrics.json, no tool run
    (metrics a newer flow records, such as the hold slack, read "not recorded")."""
    data = json.loads((Path(out_dir) / "metrics.json").read_text())
    return write_summary(Path(out_dir), data)


def _paths_from_logs(logs: Path, metrics: dict, period_ns: float) -> dict:
    """Worst-path numbers a run recorded in its OpenSTA log but not among its metrics (runs before they were
    metrics): read from the copied log, so a rebuilt summary shows them; missing ones stay missing."""
    from .tools.opensta import parse_report
    out = {}
    for stage in ("postroute", "preroute"):
        if f"{stage}_critical_arrival" in metrics and f"{stage}_hold_slack" in metrics:
            continue
        for log in sorted(logs.glob(f"*sta_{stage}.log")):
            sta = metrics.get(f"{stage}_wns")      # the OpenSTA that wrote the log, as the run recorded it
            try:
                parsed = parse_report(log.read_text(errors="replace"), period_ns, log, stage,
                                      f"{sta.tool if sta else 'opensta'} (read again from the stored log)")
            except FlowError:
                continue
            out.update({k: Metric(v.value, v.unit, v.tool, f"logs/{log.name}") for k, v in parsed.items()
                        if k.endswith(("_critical_arrival", "_hold_slack")) and k not in metrics})
            break
    return out


def _stored_config(doc: dict) -> Config:
    from .config import from_dict
    return from_dict(doc, where="metrics.json: config", name=doc.get("name"))


# summary.md rows: (label, metric, note); a metric absent from the run reads "not recorded"
SUMMARY_ROWS = (
    ("cell area", "cell_area", ""),
    ("cell area in NAND2 gates", "cell_area_nand2", ""),
    ("cells", "cells", ""),
    ("registers", "registers", ""),
    ("die area", "die_area", ""),
    ("core area", "core_area", ""),
    ("core utilization", "utilization", ""),
    ("fmax", "fmax", ""),
    ("WNS (setup)", "wns", ""),
    ("TNS (setup)", "tns", ""),
    ("clock period in FO4 delays", "period_fo4", ""),
    ("pre-route fmax", "preroute_fmax", "synthesized netlist, ideal clock, no wires"),
    ("post-route fmax", "postroute_fmax", "router parasitics, propagated clock"),
    ("failed nets", "failed_nets", ""),
    ("power, total", "power_total", "at the config clock; zero-delay simulation: a lower bound"),
    ("power, internal", "power_internal", ""),
    ("power, switching", "power_switching", ""),
    ("power, leakage", "power_leakage", ""),
    ("energy per inference", "energy_per_inference", ""),
    ("energy per MAC", "energy_per_mac", ""),
    ("energy per model inference", "energy_per_model_inference", ""),
    ("power: PEs", "power_module_pe", "tiled, per module"),
    ("power: B-spline units", "power_module_bspline", "tiled, per module"),
    ("power: array glue", "power_module_glue", "tiled, per module"),
    ("model score", "model_score", ""),
    ("model score (float)", "model_score_float", ""),
    ("area: B-spline units", "area_kan_bspline", "synthesis, per module"),
    ("area: PEs", "area_kan_pe", "synthesis, per module"),
    ("area: array glue", "area_kan_array_glue", "synthesis, per module"),
)


def metric_text(m: Metric) -> str:
    """A metric's value and unit as the summary tables write them (areas from 1e5 um^2 also in mm^2)."""
    from .report import human
    if isinstance(m.value, (int, float)) and not isinstance(m.value, bool):
        if m.unit == "um^2" and abs(m.value) >= 1e5:      # die- and array-scale areas read better in mm^2
            return f"{human(m.value)} um^2 ({m.value * 1e-6:.3f} mm^2)"
        return f"{human(m.value)} {m.unit}".strip()
    return f"{m.value} {m.unit}".strip()


def summary_markdown(cfg: Config, metrics: dict, error, logs: list[str] | None = None, die: bool = False) -> str:
    from .report import human, portable
    if cfg.target == "fpga":
        from .fpga.summary import fpga_summary_markdown
        return fpga_summary_markdown(cfg, metrics, error, logs)
    p = cfg.params
    tiled = str(metrics.get("physical_mode", Metric("", "", "", "")).value) == "tiled"
    lines = [f"# {cfg.name}: {p.rows}x{p.cols} KAN array, b={p.table_bits}, {cfg.platform}, "
             f"{cfg.flow.clock_period_ns:g} ns clock, through {cfg.flow.stop_after}", "",
             f"Status: {'FAILED: ' + portable(error, REPO) if error else 'ok'}", "",
             "| metric | value | tool | source |", "|---|---|---|---|"]

    def row(label, name, note=""):
        m = metrics.get(name)
        if m is None:
            lines.append(f"| {label} | not recorded | | |")
            return
        tool = m.tool + (f"; {note}" if note else "")
        lines.append(f"| {label} | {metric_text(m)} | {tool} | {portable(m.source, REPO)} |")

    for label, name, note in SUMMARY_ROWS:
        if name in metrics or name in ("fmax", "wns", "cell_area", "die_area", "utilization", "failed_nets"):
            if name == "utilization" and name not in metrics and "die_area" in metrics and tiled:
                lines.append("| core utilization | not recorded (tiled: the die is macros, glue and routing "
                             "channels; see cell area / die area) | | |")
                continue
            row(label, name, note)
    scope = ("array-level nets only (the wires inside the macros are not counted; the die picture's title counts "
             "all wires)" if tiled else "all nets")
    row(f"wirelength ({'array level' if tiled else 'total'})", "wirelength", scope)

    if "power_total" in metrics:
        modules = [k for k in ("power_module_pe", "power_module_bspline", "power_module_glue") if k in metrics]
        lines += ["", f"Power: {metrics['power_workload'].value}, {metrics['power_cycles'].value:g} simulated cycles "
                  f"measured (the coefficient load excluded), at the {cfg.flow.clock_period_ns:g} ns clock. The "
                  "simulation is zero-delay, so it has no glitches: internal and switching power are lower bounds. "
                  + ("Per module: report_power -instances of each module's cells." if modules else
                     "Flat runs have no per-module split (the routed netlist is flat).")]

    if "verify_gates_scope" in metrics:          # tiled: what its gate-level check simulated as gates
        lines += ["", f"Gate-level check (flow.verify_gates = {cfg.flow.verify_gates}): "
                  f"{metrics['verify_gates_scope'].value}; {metrics['verify_gates_vectors'].value} vectors, "
                  f"{metrics['verify_gates_mismatches'].value} mismatches against the golden model."]

    stage = "postroute" if "postroute_critical_path" in metrics else "preroute"
    lines += ["", f"## Worst paths ({stage.replace('route', '-route')})", "", "| check | value |", "|---|---|"]
    path = metrics.get(f"{stage}_critical_path")
    start, _, end = (str(path.value).partition(" -> ") if path else ("not recorded", "", "not recorded"))
    arrival = metrics.get(f"{stage}_critical_arrival")
    hold = metrics.get(f"{stage}_hold_slack")
    wns = metrics.get(f"{stage}_wns") or metrics.get("wns")
    lines += [f"| setup startpoint | {start} |", f"| setup endpoint | {end or 'not recorded'} |",
              f"| setup slack | {metric_text(wns) if wns else 'not recorded'} |",
              f"| data arrival time | {metric_text(arrival) if arrival else 'not recorded'} |",
              f"| worst hold slack | "
              f"{metric_text(hold) if hold else 'not recorded (this run predates the hold check)'} |"]
    reg_hold = metrics.get(f"{stage}_hold_slack_registers")
    if reg_hold:
        lines += [f"| worst hold slack, register to register | {metric_text(reg_hold)} |"]
    if "tree_buffers" in metrics and metrics["tree_buffers"].value:
        lines += [f"| broadcast buffer trees (flow.buffer_trees) | {metrics['tree_nets'].value} nets, "
                  f"{metrics['tree_buffers'].value:,} buffers ({metrics['tree_buffers_in_channels'].value:,} in "
                  f"channel crossings), {metrics['tree_levels'].value} levels |"]
    lo, hi, skew = (metrics.get(f"{stage}_clock_{k}") for k in ("latency_min", "latency_max", "skew"))
    if lo and hi:       # post-route, propagated clock (runs before 2026-12-05 did not record it)
        sinks = metrics[f"{stage}_clock_sinks"].value
        skew_text = metric_text(skew) if skew else "no register-to-register path"
        lines += [f"| clock insertion delay ({sinks:,} register clock pins) | {lo.value:g} .. {metric_text(hi)} |",
                  f"| clock skew (worst setup pair) | {skew_text} |"]
    lines += ["", "## Signoff", "", "| check | status |", "|---|---|", "| DRC | not run |", "| LVS | not run |",
              "| GDS | not produced |"]
    runtimes = sorted(n for n in metrics if n.startswith("runtime_"))
    if runtimes:
        # the tiled flow's parts also say their peak memory (memory_<part>: the flow's process and its tools)
        memory = lambda step: human(metrics[f"memory_{step}"].value) if f"memory_{step}" in metrics else ""
        lines += ["", "## Run time", "", "| step | seconds | peak memory [MB] |", "|---|---|---|"]
        lines += [f"| {(s := n.removeprefix('runtime_'))} | {human(metrics[n].value)} | {memory(s)} |"
                  for n in runtimes]
        how = next((m.tool for n, m in metrics.items() if n.startswith("memory_")), None)
        if how:
            lines += ["", f"Peak memory (the tiled flow's parts only): {how}."]
    files = ([f"[{name}](logs/{name})" for name in logs or []])
    lines += ["", "## Files", "", "- all metrics with their tools and sources: [metrics.json](metrics.json)"]
    if die:
        lines.append("- die picture: [kan_array_die.png](kan_array_die.png)")
    if files:
        lines.append("- logs: " + ", ".join(files))
    return "\n".join(lines) + "\n"
