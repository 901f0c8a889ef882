"""Place (GrayWolf) and route (qrouter) a mapped gate netlist with Debian's qflow 1.3 helpers.

place(): gate Verilog -> BLIF (pyosys) -> ypostproc -> blifFanout until it changes nothing -> qrouter -i
(track info) -> blif2cel -> decongest (placement density) -> graywolf -> place2def -> addspacers (fill) ->
arrangepins -> blifanno (placement may re-assign buffer-tree sinks) -> blif2Verilog: a placed DEF and the
structural netlist whose net and instance names the router and the SPEF use.
route(): qrouter with a bounded script (route.tcl) -> routed DEF + .rc -> rc2dly (net names it would overflow on
lengthened) -> SPEF fixed for OpenSTA.
The settings per PDK are its record's `pnr` (flow/pdks.py) and the .par file it names (qflow_pnr/).
All these tools are single-threaded.
"""
from __future__ import annotations

import fnmatch
import os
import re
import resource
import shutil
import string
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import FlowError, RouteIncomplete, ToolFailed, ToolMissing
from ..metrics import Metric, Metrics
from ..pdks import PdkInfo
from ..versions import tool_label
from .lefdef import read_def
from .liberty import cell_table, top_groups
from .spef import fix_rc2dly_spef, rc2dly_safe_rc, spef_summary
from .yosys_synth import echo_to

TEMPLATES = Path(__file__).with_name("qflow_pnr")
QFLOW_BIN = Path("/usr/lib/qflow/bin")          # blifFanout, blif2Verilog, rc2dly (not on PATH in Debian)
QFLOW_SCRIPTS = Path("/usr/lib/qflow/scripts")
INSTALL = {"graywolf": "apt-get install -y graywolf", "qrouter": "apt-get install -y qrouter",
           "tclsh": "apt-get install -y tcl"}
QFLOW_INSTALL = "apt-get install -y qflow"
DESIGN = "top"                                   # file stem of every intermediate in the work folder


class PnrInputError(FlowError):
    """A P&R request the flow cannot serve (unsupported PDK, density out of range): a user error."""
    exit_code = 2


@dataclass
class PlaceResult:
    def_path: Path          # placed DEF (fill cells added), ready for route()
    netlist: Path           # structural Verilog after buffering (blif2Verilog), names as in DEF and SPEF
    metrics: Metrics
    log: Path
    work: Path
    liberty: Path           # the liberty the netlist is mapped to (rc2dly reads pin capacitances from it)
    top: str                # top module name
    layers: int | None = None   # routing layers the placement was prepared for (None: the PDK's default)


@dataclass
class RouteResult:
    def_path: Path          # routed DEF
    spef: Path | None       # SPEF fixed for OpenSTA 2.0 (None: routed in parts, no whole RC file)
    netlist: Path           # the netlist matching the routed DEF and the SPEF
    metrics: Metrics
    log: Path


def _tool(name: str) -> str:
    """Absolute path of a tool on PATH or in qflow's bin folder, else ToolMissing naming it."""
    found = shutil.which(name) or shutil.which(name, path=str(QFLOW_BIN))
    if not found:
        raise ToolMissing(name, INSTALL.get(name, QFLOW_INSTALL))
    return found


def _script(name: str) -> list[str]:
    path = QFLOW_SCRIPTS / name
    if not path.exists():
        raise ToolMissing(f"qflow script {name}", QFLOW_INSTALL)
    return [_tool("tclsh"), str(path)]


class _Runner:
    """Runs the steps of one P&R stage in `work`, appending every output to one log and timing each tool."""

    def __init__(self, work: Path, log: Path):
        self.work, self.log = work, log
        self.wall: dict[str, float] = {}
        self.cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        log.write_text("")

    def __call__(self, step: str, cmd: list[str], stdout: Path | None = None) -> str:
        with self.log.open("a") as fh:
            fh.write(f"\n### {step}: {' '.join(map(str, cmd))}\n")
        t0 = time.perf_counter()
        proc = subprocess.run([str(c) for c in cmd], cwd=self.work, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace")
        tool = "qflow_scripts" if Path(cmd[0]).name == "tclsh" else Path(cmd[0]).name
        self.wall[tool] = self.wall.get(tool, 0.0) + time.perf_counter() - t0
        if stdout is not None:
            stdout.write_text(proc.stdout)
        with self.log.open("a") as fh:
            fh.write((proc.stdout if stdout is None else f"(stdout in {stdout.name})\n") + proc.stderr)
        if proc.returncode != 0:
            raise ToolFailed(step, str(self.log), f"{tool} exited with status {proc.returncode}")
        return proc.stdout + proc.stderr

    def timing(self) -> Metrics:
        """Wall seconds per tool (qflow's Tcl scripts together) and the CPU seconds of the whole stage."""
        rel = self.log.name
        out = {f"runtime_{tool}": Metric(round(s, 2), "s", "flow", rel) for tool, s in sorted(self.wall.items())}
        now = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = now.ru_utime + now.ru_stime - self.cpu0.ru_utime - self.cpu0.ru_stime
        out["runtime"] = Metric(round(sum(self.wall.values()), 2), "s", "flow", rel)
        out["cpu_time"] = Metric(round(cpu, 2), "s", "flow", rel)
        return out


def _filtered_liberty(liberty: Path, dont_use: tuple[str, ...], out: Path) -> Path:
    """The liberty without don't-use cells: blifFanout upsizes into any cell of the liberty it reads."""
    text = liberty.read_text()
    drop = [(s, e) for kind, name, s, e in top_groups(text)[2]
            if kind == "cell" and any(fnmatch.fnmatchcase(name, g) for g in dont_use)]
    parts, pos = [], 0
    for s, e in drop:
        parts.append(text[pos:s])
        pos = e
    out.write_text("".join(parts) + text[pos:])
    return out


def _to_blif(netlist: Path, top: str, pdk: PdkInfo, liberty: Path, work: Path, log: Path) -> Path:
    """Gate Verilog -> BLIF with port-to-port wires as buffer cells (what qflow's own synthesis writes)."""
    try:
        from pyosys import libyosys as ys
    except ImportError:
        raise ToolMissing("pyosys (Yosys 0.70)", ".venv/bin/pip install pyosys==0.70") from None
    blif = work / f"{DESIGN}_mapped.blif"
    script = _render("to_blif.ys", work / "to_blif.ys", liberty=liberty, netlist=netlist, top=top, blif=blif,
                     buffer=pdk.buffer.cell, buffer_in=pdk.buffer.inputs[0], buffer_out=pdk.buffer.output)
    design = ys.Design()
    old_tmp = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(work)             # Yosys caches parsed liberties there: keep runs apart
    try:
        with echo_to(log):
            ys.run_pass(f"tee -q -a {log} script {script}", design)
    except Exception as exc:
        raise ToolFailed("place (netlist to BLIF)", str(log), str(exc).strip()[-200:]) from None
    finally:
        os.environ.pop("TMPDIR") if old_tmp is None else os.environ.__setitem__("TMPDIR", old_tmp)
    return blif


def _render(template: str, dst: Path, **values) -> Path:
    dst.write_text(string.Template((TEMPLATES / template).read_text()).substitute(values))
    return dst


def _lefs(pdk: PdkInfo, tech_lef: Path | None = None) -> list[Path]:
    tech_lef = tech_lef or pdk.tech_lef
    return [p for p in (tech_lef, pdk.cell_lef) if p]


def router_tech_lef(pdk: PdkInfo, work: Path) -> Path | None:
    """The tech LEF the qflow tools read: the PDK's, or a copy in `work` with the PnrTech's pitch, offset and
    VIARULE fixes (asap7)."""
    t = pdk.pnr
    if not (t.lef_pitches or t.drop_viarules):
        return pdk.tech_lef
    # LEF 5.8 properties are multi-line quoted strings that addspacers.tcl's parser misreads (it then drops the
    # rest of the layer, PITCH included); qrouter ignores them
    text = re.sub(r'^\s*PROPERTY\s+LEF58_\w+\s+"[^"]*"\s*;[^\n]*\n', "", pdk.tech_lef.read_text(), flags=re.M)
    for layer, stmt in t.lef_pitches:
        block = re.search(rf"^LAYER {layer}\s*$(.*?)^END {layer}\s*$", text, re.M | re.S)
        if block is None:
            raise PnrInputError(f"pdk {pdk.name}: layer {layer} not in {pdk.tech_lef}")
        body = re.sub(r"^\s*(PITCH|OFFSET)\s+[-0-9.]+(\s+[-0-9.]+)?\s*;.*$\n?", "", block.group(1), flags=re.M)
        # at the end of the block: qrouter ignores a PITCH that comes before the layer's TYPE
        text = text[:block.start(1)] + body + f"  {stmt}\n" + text[block.end(1):]
    if t.drop_viarules:
        text = re.sub(rf"^VIARULE (\S*(?:{t.drop_viarules})\S*) GENERATE.*?^END \1\s*$\n?", "", text,
                      flags=re.M | re.S)
    out = Path(work) / f"qrouter_{pdk.tech_lef.name}"
    out.write_text(text)
    return out


def par_grid_x(par: str) -> tuple[int, int]:
    """(*gridOffsetX, *gridX) of a GrayWolf .par text: the cell site grid in DEF units."""
    return tuple(int(re.search(rf"^\*{key}\s*:\s*(-?\d+)", par, re.M).group(1)) for key in ("gridOffsetX", "gridX"))


def _snap_components(def_path: Path, offset: int, pitch: int) -> None:
    """addspacers leaves some right-edge fill cells one unit off the site grid: put them back on it."""
    text = def_path.read_text()
    head, sep, rest = text.partition("COMPONENTS")
    comps, sep2, tail = rest.partition("END COMPONENTS")

    def snap(m: re.Match) -> str:
        x = int(m.group(2))
        return f"{m.group(1)}{offset + pitch * round((x - offset) / pitch)} {m.group(3)}"
    comps = re.sub(r"(\+ (?:PLACED|FIXED) \( )(-?\d+) (-?\d+)", snap, comps)
    def_path.write_text(head + sep + comps + sep2 + tail)


def place(netlist: Path, top: str, pdk: PdkInfo, liberty: Path, work: Path,
          density: float | None = None, clock_port: str = "sys_clk", relief: bool = False) -> PlaceResult:
    """Buffer, place and fill `netlist` (flat, cells of `liberty`); see the module docstring for the steps.
    blifFanout buffers the clock net (`clock_port`) with the PDK's clock buffer; the count is a metric.
    `relief`: for a block that failed to route (dense random logic): no fanout buffering and every routing
    layer. blifFanout splits a net of more than 16 sinks into buffered groups before placement, so each group
    spans the whole block; measured on the 16-bit sky130hd B-spline unit at density 0.35: 241 failed nets
    unbuffered vs 337 buffered, and 0 unbuffered at 0.15."""
    t = pdk.pnr
    layers = (t.max_layers or t.layers) if relief else t.layers
    fanout = "-l 5000 -c 1000 -F 1000" if relief else t.fanout
    density = t.density if density is None else density
    if not 0.1 <= density <= 0.95:
        raise PnrInputError(f"place: density {density} out of range; expected 0.1 to 0.95")
    for name in ("graywolf", "qrouter", "tclsh", "blifFanout", "blif2Verilog"):
        _tool(name)
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "place.log"
    run = _Runner(work, log)
    netlist, liberty = Path(netlist).resolve(), Path(liberty).resolve()
    tech_lef = router_tech_lef(pdk, work)
    lefs = _lefs(pdk, tech_lef)

    blif = _qflow_blif(run, netlist, top, pdk, liberty, work, log)
    _buffer_fanout(run, blif, pdk, liberty, fanout, work, log)
    units = _track_info(run, pdk, lefs, work)
    def_path = _graywolf_place(run, blif, pdk, lefs, tech_lef, density, units, layers, work)
    placed_v = _placed_netlist(run, blif, def_path, pdk, work)
    metrics = _placement_metrics(def_path, pdk, liberty, density)
    clock_nets = re.findall(rf"^- {re.escape(clock_port)}_bF\$buf\d+$", def_path.read_text(), re.M)
    metrics["clock_buffers"] = Metric(len(clock_nets), "cells", tool_label("qflow", "blifFanout"), def_path.name)
    metrics.update(run.timing())
    metrics["relief"] = Metric(int(relief), "", "flow", "")
    return PlaceResult(def_path=def_path, netlist=placed_v, metrics=metrics, log=log, work=work, liberty=liberty,
                       top=top, layers=layers)


def _qflow_blif(run: _Runner, netlist: Path, top: str, pdk: PdkInfo, liberty: Path, work: Path, log: Path) -> Path:
    """Stage 1: BLIF in qflow's dialect: .gate records, constants as power nets, no backslashes."""
    blif_mapped = _to_blif(netlist, top, pdk, liberty, work, log)
    vars_sh = _render("qflow_vars.sh", work / "qflow_vars.sh", buffer=pdk.buffer.cell,
                      buffer_in=pdk.buffer.inputs[0], buffer_out=pdk.buffer.output)
    run("ypostproc", [*_script("ypostproc.tcl"), blif_mapped, top, vars_sh, pdk.power, pdk.ground])
    blif = work / f"{DESIGN}.blif"
    blif.write_text(re.sub(r"\\([^$])", r"\1", (work / f"{DESIGN}_mapped_tmp.blif").read_text()))
    return blif


def _buffer_fanout(run: _Runner, blif: Path, pdk: PdkInfo, liberty: Path, fanout: str, work: Path, log: Path
                   ) -> None:
    """Stage 2: fanout buffering and gate sizing, repeated until nothing changes (qflow's synthesize.sh loop)."""
    fan_lib = _filtered_liberty(liberty, pdk.dont_use, work / "fanout.lib")
    (work / "nofanout").write_text(f"{pdk.ground}\n{pdk.power}\n")
    buf, cbuf = pdk.buffer, pdk.clock_buffer
    fanout_cmd = [_tool("blifFanout"), *fanout.split(), "-I", "nofanout", "-s", pdk.pnr.separator or "nullstring",
                  "-p", fan_lib, "-b", f"{buf.cell},{cbuf.cell}", "-i", f"{buf.inputs[0]},{cbuf.inputs[0]}",
                  "-o", f"{buf.output},{cbuf.output}"]
    for i in range(20):
        blif.replace(work / "fanout_in.blif")
        out = run(f"blifFanout pass {i + 1}", [*fanout_cmd, "fanout_in.blif", blif.name])
        changed = re.search(r"changed:\s*(\d+)", out) or re.search(r"Number of gates changed:\s*(\d+)", out)
        if changed is None:
            raise ToolFailed("blifFanout", str(log), "no 'changed' count in its output")
        if int(changed.group(1)) == 0:
            break


def _track_info(run: _Runner, pdk: PdkInfo, lefs: list[Path], work: Path) -> int:
    """Stage 3: track information from qrouter (DESIGN.info), shifted where the PDK's pins sit half a pitch in.
    -> its DEF units per micron."""
    t = pdk.pnr
    cfg = work / "info.cfg"
    cfg.write_text("".join(f"read_lef {p}\n" for p in lefs[:1]))
    run("qrouter -i", [_tool("qrouter"), "-i", f"{DESIGN}.info", "-c", cfg.name])
    info = work / f"{DESIGN}.info"
    if isinstance(t.track_offset_um, dict):
        for layer, offset in t.track_offset_um.items():
            info.write_text(re.sub(rf"^({layer} [0-9.]+) [-0-9.]+ ", rf"\g<1> {offset} ", info.read_text(),
                                   flags=re.M))
    elif t.track_offset_um is not None:
        info.write_text(re.sub(r"^(\S+ [0-9.]+) 0 ", rf"\g<1> {t.track_offset_um} ", info.read_text(), flags=re.M))
    return int(re.search(r"^units scale (\d+)", info.read_text(), re.M).group(1))


def _graywolf_place(run: _Runner, blif: Path, pdk: PdkInfo, lefs: list[Path], tech_lef: Path | None,
                    density: float, units: int, layers: int, work: Path) -> Path:
    """Stage 4: placement (blif2cel, decongest, graywolf, place2def, addspacers, arrangepins) -> the placed DEF."""
    t = pdk.pnr
    run("blif2cel", [*_script("blif2cel.tcl"), "--blif", blif.name,
                     *[a for p in lefs for a in ("--lef", p)], "--cel", f"{DESIGN}.cel"])
    run("decongest", [*_script("decongest.tcl"), DESIGN, pdk.cell_lef, pdk.fill, f"{density}", f"--units={units}"])
    (work / f"{DESIGN}.acel").replace(work / f"{DESIGN}.cel")
    par = (TEMPLATES / t.par).read_text()           # an absolute t.par wins over TEMPLATES in the join
    # `TWSC*fast : 4` cut placement time 3x with the same post-route fmax (measured, toolchain notes)
    (work / f"{DESIGN}.par").write_text(par if "TWSC*fast" in par else par + "\nTWSC*fast : 4\n")
    run("graywolf", [_tool("graywolf"), "-n", DESIGN], stdout=work / "graywolf.out")
    for stale in (f"{DESIGN}.obs", f"{DESIGN}.obsx"):     # place2def appends: a second placement in the same
        (work / stale).unlink(missing_ok=True)              # folder would keep the first die's edge obstructions
    run("place2def", [*_script("place2def.tcl"), DESIGN, pdk.fill, str(layers)])
    techlef = ["-techlef", tech_lef] if tech_lef else []
    run("addspacers", [*_script("addspacers.tcl"), *techlef, DESIGN, pdk.cell_lef, pdk.fill])
    def_path = work / f"{DESIGN}.def"
    if (work / f"{DESIGN}_filled.def").exists():
        (work / f"{DESIGN}_filled.def").replace(def_path)
    if (work / f"{DESIGN}.obsx").exists():
        (work / f"{DESIGN}.obsx").replace(work / f"{DESIGN}.obs")
    if t.snap_x:
        _snap_components(def_path, *par_grid_x(par))
    run("arrangepins", [*_script("arrangepins.tcl"), DESIGN])
    if (work / f"{DESIGN}_mod.def").exists():
        (work / f"{DESIGN}_mod.def").replace(def_path)
    return def_path


def _placed_netlist(run: _Runner, blif: Path, def_path: Path, pdk: PdkInfo, work: Path) -> Path:
    """Stage 5: the netlist as placed: blifanno re-assigns buffer-tree sinks to match the placement."""
    run("blifanno", [*_script("blifanno.tcl"), blif.name, def_path.name, f"{DESIGN}_anno.blif"])
    placed_v = work / f"{DESIGN}_placed.v"
    run("blif2Verilog", [_tool("blif2Verilog"), "-c", "-p", "-v", pdk.power, "-g", pdk.ground,
                         f"{DESIGN}_anno.blif"], stdout=placed_v)
    return placed_v


def _placement_metrics(def_path: Path, pdk: PdkInfo, liberty: Path, density: float) -> Metrics:
    layout = read_def(def_path)
    areas = cell_table(liberty)
    cells = [m for m in layout.components.values() if m != pdk.fill]
    missing = sorted({m for m in cells if m not in areas})
    if missing:
        raise ToolFailed("place (metrics)", str(def_path), f"cells not in the liberty: {', '.join(missing[:5])}")
    cell_area = sum(areas[m][0] for m in cells)
    core = layout.core_area_um2
    src, lib = def_path.name, liberty.name
    graywolf, addspacers = tool_label("graywolf"), tool_label("qflow", "addspacers")
    return {
        "cells": Metric(len(cells), "cells", f"{graywolf} + {addspacers}", src),
        "buffers": Metric(sum(m in (pdk.buffer.cell, pdk.clock_buffer.cell) for m in cells), "cells",
                          tool_label("qflow", "blifFanout"), src),
        "fill_cells": Metric(len(layout.components) - len(cells), "cells", addspacers, src),
        "cell_area": Metric(round(cell_area, 3), "um^2", "liberty", f"{src} + {lib}"),
        "core_area": Metric(round(core, 3), "um^2", graywolf, src),
        "die_area": Metric(round(layout.die_area_um2, 3), "um^2", graywolf, src),
        "utilization": Metric(round(100.0 * cell_area / core, 2), "%", "flow", src),
        "density": Metric(density, "", tool_label("qflow", "decongest"), "place.log"),
    }


def _qrouter(placed: PlaceResult, pdk: PdkInfo, work: Path, run: _Runner, extra_lefs, obstructions,
             passes: int | None = None, delays: bool = True, ignore=()
             ) -> tuple[Path, Path, int, int, int]:
    """One bounded qrouter run on the placed DEF -> (routed DEF, RC file, failed nets, nets, layers).
    `passes`: rip-up passes (default the PDK's), then the last unmasked one if nets still fail;
    `delays`: write the RC file (qrouter's write_delays; it crashed on a 16x16 array's clock spine);
    `ignore`: nets of the DEF qrouter leaves unrouted (their pins stay reserved for them)."""
    t = pdk.pnr
    layers = placed.layers or t.layers
    routed_def, rc = work / f"{DESIGN}_route.def", work / f"{DESIGN}_route.rc"
    obs = placed.work / f"{DESIGN}.obs"
    script = _render(
        "route.tcl", work / "route.tcl",
        read_lefs="\n".join(f"read_lef {p}" for p in [*_lefs(pdk, router_tech_lef(pdk, work)), *extra_lefs]),
        layers=layers, via_use=f"via use {t.via_use}" if t.via_use else "", vdd=pdk.power, gnd=pdk.ground,
        obstructions=(obs.read_text() if obs.exists() else "") + "".join(f"{o}\n" for o in obstructions),
        placed_def=placed.def_path, after_read="".join(f"ignore {{{n}}}\n" for n in ignore),
        stage2_passes=t.stage2_passes if passes is None else passes,
        routed_def=routed_def.name, write_delays=f"write_delays {rc.name}" if delays else "")
    out = run("qrouter", [_tool("qrouter"), "-nog", "-noc", "-s", script.name])
    final = re.search(r"KAN_FAILED_NETS (\d+) of (\d+)", out)
    if final is None or not routed_def.exists():
        raise ToolFailed("route", str(run.log), "qrouter wrote no final count or no routed DEF")
    return routed_def, rc, int(final.group(1)), int(final.group(2)), layers


def failed_nets(route_log: str) -> list[str]:
    """The nets qrouter left unrouted, from the KAN_FAILED_LIST line route.tcl prints."""
    m = re.search(r"^KAN_FAILED_LIST (.*)$", route_log, re.M)
    return m.group(1).replace("{", " ").replace("}", " ").split() if m else []


def route_only(def_path: Path, pdk: PdkInfo, work: Path, extra_lefs=(), passes: int | None = None, ignore=(),
               obstructions: list[str] | tuple[str, ...] = ()) -> tuple[Path, list[str]]:
    """qrouter alone on a DEF written for it (no placement: no netlist, no RC file, no parasitics), failed nets
    allowed: -> (the routed DEF, the failed nets). `passes`: at most this many rip-up passes (default the PDK's),
    then the last unmasked one if nets still fail (16x16 b3: two upper tree nets failed stage 1 and every masked
    pass, in their windows and in the full-die run, and the unmasked pass routed them); `ignore`: nets of the DEF
    left unrouted, there so that qrouter keeps their pins free (a wire of another run over a pin shorts the via
    that later reaches it);
    `obstructions`: qrouter `obstruction x0 y0 x1 y1 layer` lines (um)."""
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    run = _Runner(work, work / "route.log")
    placed = PlaceResult(def_path=Path(def_path), netlist=Path(def_path), metrics={}, log=run.log, work=work,
                         liberty=Path(def_path), top="")
    routed_def = _qrouter(placed, pdk, work, run, extra_lefs, obstructions, passes, delays=False, ignore=ignore)[0]
    return routed_def, failed_nets(run.log.read_text())


def wiring_metrics(routed_def: Path) -> Metrics:
    """Wirelength (all and per layer) and via count of a routed DEF."""
    layout = read_def(routed_def)
    src, qrouter = routed_def.name, tool_label("qrouter")
    return {"wirelength": Metric(round(layout.wirelength_um, 2), "um", qrouter, src),
            "vias": Metric(layout.vias, "vias", qrouter, src),
            **{f"wirelength_{k}": Metric(round(v, 2), "um", qrouter, src)
               for k, v in sorted(layout.wire_by_layer.items())}}


def route(placed: PlaceResult, pdk: PdkInfo, work: Path, extra_lefs: tuple[Path, ...] | list[Path] = (),
          obstructions: list[str] | tuple[str, ...] = ()) -> RouteResult:
    """Route the placed DEF with a bounded qrouter script, then write SPEF from qrouter's RC (rc2dly)
    and fix it for OpenSTA. Any net left unrouted is a failure (ToolFailed naming the count).
    `extra_lefs`: LEFs of macros the DEF places; `obstructions`: qrouter `obstruction x0 y0 x1 y1 layer` lines
    (um) added to the ones placement wrote."""
    rc2dly = _tool("rc2dly")
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "route.log"
    run = _Runner(work, log)
    routed_def, rc, failed, total, layers = _qrouter(placed, pdk, work, run, extra_lefs, obstructions)
    if failed:
        raise RouteIncomplete("route", str(log), failed, total)
    raw_spef, spef = work / f"{DESIGN}_rc2dly.spef", work / f"{DESIGN}.spef"
    safe_rc = work / f"{DESIGN}_route_rc2dly.rc"
    net_names = rc2dly_safe_rc(rc, safe_rc)
    run("rc2dly", [rc2dly, "-D", ":", "-r", safe_rc.name, "-l", placed.liberty, "-d", raw_spef.name])
    fix_rc2dly_spef(raw_spef, spef, delimiter=":", design=placed.top, net_names=net_names)
    parasitics = spef_summary(spef)
    qrouter, rc2dly_tool = tool_label("qrouter"), tool_label("qflow", "rc2dly")
    metrics = {
        "failed_nets": Metric(failed, "nets", qrouter, log.name),
        "routed_nets": Metric(total, "nets", qrouter, log.name),
        "layers": Metric(layers, "layers", qrouter, "route.tcl"),
        "spef_nets": Metric(parasitics["nets"], "nets", rc2dly_tool, spef.name),
        "net_cap_total": Metric(round(parasitics["total_cap"], 6), "pF", rc2dly_tool, spef.name),
        **wiring_metrics(routed_def),
    }
    metrics.update(run.timing())
    return RouteResult(def_path=routed_def, spef=spef, netlist=placed.netlist, metrics=metrics, log=log)

