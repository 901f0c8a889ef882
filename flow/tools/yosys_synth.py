"""Synthesis with Yosys 0.70 (pyosys, no yosys executable): RTL -> flat gate netlist of the PDK's liberty.

Yosys runs in a spawned child process (the library, not an executable, but isolated: some Yosys errors call
exit(); see _isolated), and the child hands back the cell list from which the per-module area breakdown is computed.

The script is yosys_synth.ys beside this file. The netlist is written for the P&R and timing tools here:
one flat module, split port nets, no expressions (OpenSTA 2.0 reads no `{a,b}`), constants from the PDK
tie cells where it has them, port-to-port wires through its buffer cell.
Strategies: `delay` maps with ABC's default script at a delay target of the clock period (`abc -D`);
`area` relaxes the delay target (`&nf -R 1000`) so the mapper recovers area.
"""
from __future__ import annotations

import contextlib
import fnmatch
import multiprocessing
import os
import re
import signal
import string
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import ToolFailed, ToolMissing
from ..metrics import Metric, Metrics
from ..pdks import PdkInfo
from .liberty import cell_table

HERE = Path(__file__).parent
AREA_SCRIPT = "+strash;&get,-n;&fraig,-x;&put;scorr;dc2;dretime;strash;&get,-n;&dch,-f;&nf,-R,1000;&put"
INSTALL = ".venv/bin/pip install pyosys==0.70"


@dataclass
class SynthResult:
    netlist: Path
    log: Path
    metrics: Metrics
    cells: dict[str, int]          # cell type -> count in the flat netlist


def libyosys():
    """pyosys's libyosys module (Yosys in-process), or ToolMissing with the line that installs it: callers check
    for Yosys with it before they start anything."""
    try:
        from pyosys import libyosys as ys
    except ImportError:
        raise ToolMissing("pyosys (Yosys 0.70)", INSTALL) from None
    return ys


def yosys_version() -> str:
    from importlib import metadata
    return f"yosys {metadata.version('pyosys')} (pyosys)"


@contextlib.contextmanager
def echo_to(log: Path):
    """Yosys run in-process echoes `-- Running command ... --` on fd 1 even under `tee -q`: send fd 1 to the end
    of `log` meanwhile (the terminal shows only the flow's own lines), then restore it."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(log, "ab") as fh:
        os.dup2(fh.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def _child(conn, tmpdir: Path, fn, args):
    """Body of the spawned child: Yosys caches parsed liberties under $TMPDIR (one folder per run keeps
    parallel runs apart) and echoes every command on fd 1 even under `tee -q` (the log has it all)."""
    tmpdir.mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(tmpdir)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        conn.send((True, fn(*args)))
    except Exception as exc:
        conn.send((False, f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _start_ignoring_ctrl_c(proc) -> None:
    """Start the child with SIGINT ignored from its first instruction (an ignored signal stays ignored across exec,
    and Python then installs no KeyboardInterrupt handler): a Ctrl-C at the terminal is the command's to handle
    (it kills this child), not a traceback from the child's start-up."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:                      # not the main thread: nothing to change
        proc.start()
        return
    try:
        proc.start()
    finally:
        signal.signal(signal.SIGINT, previous)


def _isolated(step: str, log: Path, work: Path, fn, *args):
    """fn(*args) in a child process: Yosys ends the whole process on some errors (a liberty or Verilog syntax
    error calls exit()), which must fail this step, not the flow or the sweep worker around it. The child is
    spawned, not forked: a forked child inherits Yosys's global counters from earlier runs in the parent, which
    renames internal nets, changes ABC's mapping, and made the same macro differ between process histories."""
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    sys.stdout.flush()
    proc = ctx.Process(target=_child, args=(sender, work / "tmp", fn, args))
    _start_ignoring_ctrl_c(proc)
    sender.close()
    try:
        ok, value = receiver.recv()
    except EOFError:
        ok, value = False, None
    proc.join()
    if not ok and not value:
        value = f"yosys ended the process (exit status {proc.exitcode})"
        with open(log, "a") as fh:       # killed before or while writing its log: the log says what happened
            fh.write(f"\n{value}\n")
    errors = re.findall(r"^ERROR: (.*)$", log.read_text(errors="replace"), re.M) if log.exists() else []
    if not ok or errors:   # pyosys does not always raise on a failed pass: its log says so
        raise ToolFailed(step, str(log), errors[-1] if errors else value)
    return value


def _script_in_child(template: Path, values: dict, work: Path, log: Path, inspect):
    ys = libyosys()
    design = ys.Design()
    script = work / template.name
    script.write_text(string.Template(template.read_text()).substitute(values))
    ys.run_pass(f"tee -q -a {log} script {script}", design)
    return inspect(design) if inspect else None


def run_isolated_script(step: str, template: Path, values: dict, work: Path, log: Path, inspect=None):
    """Render the Yosys script `template` (placeholders filled from `values`) into `work` and run it in a
    spawned child (as synthesis runs; a Yosys error fails `step` with `log`). -> inspect(design), computed in the
    child after the script (it must return plain data), or None."""
    libyosys()   # ToolMissing here, before the child starts
    return _isolated(step, log, work, _script_in_child, Path(template), values, work, log, inspect)


def mapping_values(pdk: PdkInfo, clock_period_ns: float, strategy: str) -> dict[str, str]:
    """The technology-mapping placeholders the synthesis scripts share: don't-use cells, ABC's target (see the
    module docstring for the strategies) and the tie-cell mapping."""
    ties = [c for c in (pdk.tie_hi, pdk.tie_lo) if c]
    return dict(
        dont_use=" ".join(f"-dont_use {g}" for g in pdk.dont_use),
        abc_target=f"-D {clock_period_ns * 1000:g}" if strategy == "delay" else f"-script {AREA_SCRIPT}",
        hilomap=(f"hilomap -hicell {pdk.tie_hi.cell} {pdk.tie_hi.output} -locell {pdk.tie_lo.cell} "
                 f"{pdk.tie_lo.output}") if len(ties) == 2 else "# no tie cells in this library: constants stay")


def _run_script(ys, design, template: str, values: dict, work: Path, log: Path, labels: str = "") -> None:
    script = work / template
    script.write_text(string.Template((HERE / template).read_text()).substitute(values))
    ys.run_pass(f"tee -q -a {log} script {script} {labels}".rstrip(), design)
    if re.search(r"^ERROR: ", log.read_text(errors="replace"), re.M):
        raise RuntimeError("yosys reported an error")


def _stat_area(path: Path) -> float:
    found = re.findall(r"Chip area for (?:top )?module '\\?(\S+)':\s*([0-9.eE+-]+)", path.read_text())
    if not found:
        raise ToolFailed("synthesis (yosys stat)", str(path), "no chip area in stat output")
    return float(found[-1][1])


def _synth_in_child(values: dict, work: Path, log: Path):
    """(instance -> module type before flattening, [(cell type, cell name)] after): runs in the child."""
    ys = libyosys()
    design = ys.Design()
    _run_script(ys, design, "yosys_synth.ys", values, work, log, "map:flat")
    instance_type = {c.name.str(): c.type.str().lstrip("\\") for c in design.top_module().cells_.values()
                     if design.module(c.type) and not design.module(c.type).get_blackbox_attribute()}
    _run_script(ys, design, "yosys_synth.ys", values, work, log, "flat:")
    return instance_type, [(c.type.str().lstrip("\\"), c.name.str()) for c in design.top_module().cells_.values()]


def synthesize(rtl: Path, top: str, pdk: PdkInfo, liberty: Path, work: Path, clock_period_ns: float,
               strategy: str = "area", booth: bool = False) -> SynthResult:
    """Map `rtl` to `liberty`; metrics: cell area, cells, registers, per-module area (each in um^2 or counts)."""
    libyosys()   # ToolMissing here, before the child starts
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    log, netlist = work / "yosys.log", work / f"{top}.vg"
    log.unlink(missing_ok=True)
    ties = [c for c in (pdk.tie_hi, pdk.tie_lo) if c]
    values = dict(liberty=liberty, rtl=Path(rtl).resolve(), top=top, booth="-booth" if booth else "",
                  hier_stat=work / "stat_hier.txt", flat_stat=work / "stat.txt",
                  buffer=f"{pdk.buffer.cell} {pdk.buffer.inputs[0]} {pdk.buffer.output}", netlist=netlist,
                  **mapping_values(pdk, clock_period_ns, strategy))
    step = "synthesis (yosys)"
    instance_type, flat_cells = _isolated(step, log, work, _synth_in_child, values, work, log)

    table = cell_table(liberty)
    cells: dict[str, int] = {}
    by_module: dict[str, float] = {}
    registers = 0
    for kind, name in flat_cells:
        area, sequential = table[kind]
        cells[kind] = cells.get(kind, 0) + 1
        registers += sequential
        # flatten names a cell `$flatten\<instance>.<cell>`: the instance says which module it came from
        inst = name.removeprefix("$flatten").split(".", 1)[0] if name.startswith("$flatten") else ""
        module = instance_type.get(inst, f"{top}_glue")
        by_module[module] = by_module.get(module, 0.0) + area
    stat, src = _stat_area(work / "stat.txt"), "stat.txt"
    tool = yosys_version()
    metrics: Metrics = {
        "cell_area": Metric(round(stat, 3), "um^2", tool, src),
        "cells": Metric(sum(cells.values()), "cells", tool, netlist.name),
        "registers": Metric(registers, "cells", tool, netlist.name),
        "synth_strategy": Metric(strategy, "", "flow", "flow.synth_strategy"),
        "synth_booth": Metric(bool(booth), "", "flow", "flow.booth"),
    }
    for module, area in sorted(by_module.items()):
        count = sum(1 for t in instance_type.values() if t == module) or 1
        metrics[f"area_{module}"] = Metric(round(area, 3), "um^2", tool + " + liberty areas", netlist.name)
        metrics[f"instances_{module}"] = Metric(count, "", tool, netlist.name)
    bad = sorted(c for c in cells if any(fnmatch.fnmatch(c, g) for g in pdk.dont_use)
                 and c not in {t.cell for t in ties})
    if bad:
        raise ToolFailed("synthesis (yosys)", str(log), f"don't-use cells in the netlist: {', '.join(bad)}")
    return SynthResult(netlist, log, metrics, cells)


def _bus_wrapper(module, top: str) -> str:
    """Verilog module `top` with bus ports around `<top>_gates`, whose ports are single bits `\\x[3] ` (the flat
    netlist: splitnets -ports) or already buses (the tiled flow's hierarchical netlist)."""
    widths, dirs, split = {}, {}, set()
    for wire in module.wires_.values():
        if wire.port_input or wire.port_output:
            name = wire.name.str().lstrip("\\")
            base, bit = re.fullmatch(r"(.*?)(?:\[(\d+)\])?", name).groups()
            if bit:
                split.add(base)
                widths[base] = max(widths.get(base, 0), int(bit) + 1)
            else:
                widths[base] = wire.width if wire.width > 1 else 0
            dirs[base] = "input" if wire.port_input else "output"
    decl = [f"  {dirs[b]} {f'[{w - 1}:0] ' if w else ''}{b}" for b, w in sorted(widths.items())]
    conns = [f".\\{b}[{i}] ({b}[{i}])" for b, w in sorted(widths.items()) if b in split for i in range(w)]
    conns += [f".{b}({b})" for b, w in sorted(widths.items()) if b not in split]
    return (f"module {top}(\n" + ",\n".join(decl) + ");\n  " + f"{top}_gates gates(" + ", ".join(conns)
            + ");\nendmodule\n")


def simulatable_netlist(netlist: Path, liberty: Path, top: str, work: Path, flatten: bool = True,
                        macros: dict[str, list[str] | None] | None = None, rtl: Path | None = None) -> Path:
    """The gate netlist (flat with split ports, or hierarchical with bus ports: the tiled array over its macros)
    with every cell replaced by its liberty function: one flat Verilog module `top` with the RTL's bus ports,
    for Icarus. `flatten=False` keeps the netlist as instance `gates` under `top` with its own net names (and
    its macro instances), so a VCD of it names the nets as the timing tools do (power.py).
    `macros` {macro module: its instances simulated as gates, None = all}: the macros stay modules (one
    definition each, their cells flattened into them), everything else is flattened; the other instances are the
    macro's RTL from `rtl` (Verilog holding those modules), written at the head of the output file."""
    libyosys()   # ToolMissing here, before the child starts
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    out, log, wrapper = work / f"{top}_gates_sim.v", work / "yosys_gatesim.log", work / f"{top}_bus_wrapper.v"
    log.unlink(missing_ok=True)
    lines = []
    for module, instances in sorted((macros or {}).items()):
        # the instances keep their type (the macro, then the RTL's black box) unless named as gates here
        chosen = f"{top}_gates/t:{module}" if instances is None else " ".join(f"{top}_gates/{i}" for i in instances)
        lines += [f"rename {module} {module}_gates"] + ([f"chtype -set {module}_gates {chosen}"] if chosen else [])
    if macros and any(v is not None for v in macros.values()):
        lines.append(f"read_verilog -lib {Path(rtl).resolve()}")
    values = dict(liberty=liberty, netlist=Path(netlist).resolve(), top=top, out=out, wrapper=wrapper,
                  macro_lines="\n".join(lines), gate_modules=" ".join(f"{m}_gates" for m in sorted(macros or {})))
    steps = ["wrap:flat", "macros:"] if macros else ["wrap:macros", "write:"] if flatten else ["wrap:flat", "write:"]
    _isolated("gate-level netlist for simulation (yosys)", log, work, _gatesim_in_child, values, work, log, top,
              steps)
    if macros and rtl:
        out.write_text(Path(rtl).read_text() + "\n" + out.read_text())
    return out


def _gatesim_in_child(values: dict, work: Path, log: Path, top: str, steps: list[str]) -> None:
    ys = libyosys()
    design = ys.Design()
    _run_script(ys, design, "yosys_gatesim.ys", values, work, log, "gates:wrap")
    values["wrapper"].write_text(_bus_wrapper(design.module(ys.IdString(f"\\{top}_gates")), top))
    for labels in steps:
        _run_script(ys, design, "yosys_gatesim.ys", values, work, log, labels)
