"""The tiled flow of one design point, step by step (TiledRun): harden the macros, synthesize and place the glue,
route the array, write the array's SPEF, time the hierarchy, merge and draw the die, check the gates; and the
point's metrics."""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path

from rtl_gen.generator import generate_verilog

from ..config import Config
from ..errors import ToolFailed
from ..metrics import Metric, Metrics
from ..pdks import resolve
from ..procs import PeakMemory
from ..tools import floorplan as fp
from ..tools.def_spef import write_spef
from ..tools.die_plot import render_die
from ..tools.liberty import cell_table, prepared_liberty
from ..tools.opensta import run_sta
from ..tools.yosys_synth import simulatable_netlist, yosys_version
from .arrayplan import CHANNEL_UM, build_floorplan
from .glue import ArrayNetlist, synthesize_glue
from .macros import bspline_pins, harden, pe_pins
from .routing import route_array
from .rtl import module_text

# how memory_<step> is measured (procs.PeakMemory)
MEMORY_SOURCE = "flow (peak RSS of the flow's process and its tools, summed, sampled every 0.2 s)"


def run_tiled(cfg: Config, work: Path, pdk_root=None, verify: bool = True) -> dict:
    """Tiled physical flow of one design point -> {"metrics": {name: Metric}, "artifacts": {...}}."""
    run = TiledRun(cfg, work, pdk_root)
    run.harden_macros()
    run.floorplan()
    run.route()
    run.array_spef()
    run.sta()
    run.merge_and_draw()
    m = run.metrics()
    if verify:
        m.update(run.verify_gates())
    return {"metrics": m, "artifacts": run.artifacts()}


class TiledRun:
    """One design point through the tiled flow: each step is a method, its results are fields the later steps
    read; `times` holds each step's wall clock, `memory` its peak memory [MB] (the flow's process and its tools)."""

    def __init__(self, cfg: Config, work: Path, pdk_root=None):
        self.cfg, self.p = cfg, cfg.params
        self.pdk = resolve(cfg.pdk, pdk_root)
        self.liberty = prepared_liberty(self.pdk)
        self.work = Path(work).resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        self.rtl_text = generate_verilog(self.p)
        (self.work / "kan_array.v").write_text(self.rtl_text)
        self.times: dict[str, float] = {}
        self.memory: dict[str, float] = {}

    @contextmanager
    def _timed(self, step: str):
        t = time.perf_counter()
        with PeakMemory() as peak:
            yield
        self.times[step], self.memory[step] = time.perf_counter() - t, peak.mb

    def harden_macros(self) -> None:
        """The B-spline unit first (the PE's west pins line up with its east pins), then the PE."""
        free = self.pdk.layers.free
        with self._timed("harden_bspline"):
            self.bs, self.bs_info, self.bs_hit = harden("kan_bspline", bspline_pins(self.p), self.cfg, self.pdk,
                                                        self.liberty, self.rtl_text, free)
        with self._timed("harden_pe"):
            self.pe, self.pe_info, self.pe_hit = harden("kan_pe", pe_pins(self.p, self.bs), self.cfg, self.pdk,
                                                        self.liberty, self.rtl_text, free)
        self.macro_defs = {"kan_pe": self.pe_info["def"], "kan_bspline": self.bs_info["def"]}

    def floorplan(self) -> None:
        """Glue synthesis and netlist, the floorplan, the top-level Verilog and the placed array DEF."""
        pdk, work = self.pdk, self.work
        with self._timed("floorplan"):
            ports, cells, aliases = synthesize_glue(self.rtl_text, self.cfg, pdk, self.liberty, work / "glue")
            no_ties = pdk.tie_hi is None or pdk.tie_lo is None
            self.net = ArrayNetlist(ports, cells, aliases, {"kan_pe": self.pe, "kan_bspline": self.bs},
                                    {"0": pdk.ground, "1": pdk.power} if no_ties else None)
            self.plan, self.nets, self.trees = build_floorplan(self.p, self.pe, self.bs, self.net, pdk, self.liberty,
                                                               self.cfg.flow.buffer_trees)
            self.top_v = work / "kan_array_top.v"
            self.top_v.write_text(self.net.verilog())
            self.route_work = work / "route"
            self.route_work.mkdir(exist_ok=True)
            self.top_def = fp.write_def(self.route_work / "kan_array_placed.def", self.plan, self.nets, "kan_array")

    def route(self) -> None:
        with self._timed("route_top"):
            self.routed = route_array(self.top_def, self.top_v, [self.pe.lef, self.bs.lef], self.nets, self.pdk,
                                      self.liberty, self.route_work, self.plan,
                                      fp.array_pitch(self.pe, self.bs, CHANNEL_UM))

    def array_spef(self) -> None:
        """The tiled netlist (top over both macros) and the array level's SPEF."""
        work, pdk = self.work, self.pdk
        with self._timed("array_spef"):
            self.netlist = work / "kan_array_tiled.v"
            self.netlist.write_text(self.top_v.read_text() + "\n" + self.pe_info["netlist"].read_text() + "\n"
                                    + self.bs_info["netlist"].read_text())
            # the array level's parasitics from the routed DEF and the tech LEF's R/C (def_spef: every net, where
            # rc2dly's SPEF leaves out the nets qrouter finds no driver for and cuts macro pin names short), its
            # macro pin connections written as the cells inside, with the macro's wire up to them
            self.array_spef_path = work / "kan_array_array.spef"
            self.par = write_spef(self.routed.def_path,
                                  [f for f in (pdk.tech_lef, pdk.cell_lef) if f] + [self.pe.lef, self.bs.lef],
                                  self.liberty, self.array_spef_path, "kan_array", self.net.port_directions(),
                                  self.macro_defs)
            (work / "kan_array_array_spef.json").write_text(json.dumps(self.par, indent=1))

    def sta(self) -> None:
        """OpenSTA on the hierarchy: every macro instance reads its macro's SPEF (`read_spef -path`: its internal
        nets), the array level its own."""
        with self._timed("sta"):
            self.spefs = [(i, (self.pe_info if m.macro.name == "kan_pe" else self.bs_info)["spef"])
                          for i, m in self.plan.macro_insts()] + [(None, self.array_spef_path)]
            sta = run_sta(self.netlist, "kan_array", self.liberty, self.pdk, self.work / "sta",
                          self.cfg.flow.clock_period_ns, stage="postroute", spefs=self.spefs)
            self.timing, self.sta_report = sta.metrics, sta.report

    def merge_and_draw(self) -> None:
        """The merged DEF (every macro's cells and wires at its place) and the die picture, drawn from the array
        level's DEF and each macro's own at its instances: reading the merged one took ~10x its size in memory."""
        with self._timed("merge_def"):
            self.merged = fp.merge_def(self.top_def, self.routed.def_path, self.macro_defs, self.plan,
                                       self.work / "kan_array_merged.def")
        with self._timed("die_png"):
            copies: dict[Path, list[tuple[int, int]]] = {}
            for _, inst in self.plan.macro_insts():
                copies.setdefault(self.macro_defs[inst.macro.name], []).append(inst.origin)
            self.png = render_die(self.routed.def_path, self.pdk, self.work / "kan_array_die.png", copies)

    def metrics(self) -> Metrics:
        m = _metrics(self.p, self.pe, self.bs, self.pe_info, self.bs_info, self.plan, self.net, self.routed,
                     self.timing, self.liberty, self.work, self.pe_hit, self.bs_hit, self.times)
        m.update(_spef_metrics(self.par, self.routed, self.array_spef_path.name))
        m.update({k: v for k, v in self.routed.metrics.items() if k.startswith("window_")})
        m.update(_tree_metrics(self.trees))
        m.update({f"memory_{step}": Metric(round(mb, 1), "MB", MEMORY_SOURCE, "") for step, mb in self.memory.items()})
        return m

    def verify_gates(self) -> Metrics:
        """The gate netlist (glue and some or all macro instances as routed gates: flow.verify_gates) against the
        golden model (cocotb); ToolFailed on a mismatch."""
        from ..verify import gate_check_scope, run_cocotb, simulation_tool
        work = self.work
        with self._timed("verify"):
            scope, gates, rtl = gate_check_scope(self.p, self.cfg.flow.verify_gates, work / "verify",
                                                 {n: module_text(self.rtl_text, n) for n in ("kan_pe", "kan_bspline")})
            sim = simulatable_netlist(self.netlist, self.liberty, "kan_array", work / "verify", macros=gates, rtl=rtl)
            res = run_cocotb(self.p, [sim], work / "verify" / "cocotb", vectors=self.cfg.flow.verify_vectors,
                             seed=self.cfg.flow.seed)
        tool = simulation_tool()
        m = {"verify_gates_scope": Metric(scope, "", "flow.tiled (flow.verify_gates)", str(sim)),
             "verify_gates_vectors": Metric(res.vectors, "vectors", tool, str(res.log)),
             "verify_gates_mismatches": Metric(res.mismatches, "", tool, str(res.log)),
             "runtime_verify": Metric(round(self.times["verify"], 2), "s", "flow", ""),
             "memory_verify": Metric(round(self.memory["verify"], 1), "MB", MEMORY_SOURCE, "")}
        if not res.passed:
            raise ToolFailed("tiled gate-level simulation (cocotb)", str(res.log),
                             f"{res.mismatches} mismatches of {res.vectors} vectors")
        return m

    def artifacts(self) -> dict:
        pe_info, bs_info = self.pe_info, self.bs_info
        logs = [pe_info["place_log"], pe_info["route_log"], bs_info["place_log"], bs_info["route_log"],
                self.work / "glue" / "yosys_glue.log", self.routed.log, self.sta_report]
        return {"def": self.merged, "png": self.png, "netlist": [self.netlist], "spefs": self.spefs,
                "spef": [f for f in (self.array_spef_path, pe_info["spef"], bs_info["spef"], self.routed.spef) if f],
                "lef": [self.pe.lef, self.bs.lef], "logs": logs}


def _tree_metrics(trees) -> Metrics:
    """The broadcast nets' buffer trees (flow.buffer_trees): nets, buffers, levels, buffers in channel crossings."""
    tool, src, bufs = "flow.tiled.buffertree (flow.buffer_trees)", "route/kan_array_placed.def", trees.buffers
    return {"tree_nets": Metric(len({b.net for b in bufs}), "nets", tool, src),
            "tree_buffers": Metric(len(bufs), "cells", tool, src),
            "tree_levels": Metric(max((b.level + 1 for b in bufs), default=0), "levels", tool, src),
            "tree_buffers_in_channels": Metric(trees.in_channels, "cells", tool, src)}


def _spef_metrics(par: dict, routed, spef_name: str) -> Metrics:
    """Where the array level's parasitics came from: def_spef's counts and wire capacitance, next to what qflow's
    rc2dly SPEF (not used) held."""
    tool = "flow.tools.def_spef (routed DEF, tech LEF R/C, star RC per net)"
    if par["no_rc"]:
        tool += " [tech LEF has no R/C: connections only]"
    info = "kan_array_array_spef.json"
    return {
        "array_spef_nets": Metric(par["nets"], "nets", tool, spef_name),
        "array_spef_rc_nets": Metric(par["annotated"], "nets", tool + ": nets written with wire R and C", spef_name),
        "array_spef_macro_pins_expanded": Metric(par["expanded"], "pins", tool + ": macro pins written as the cell "
                                                 "pins inside, with the macro's port-net wire", spef_name),
        "array_wire_cap": Metric(round(par["top_cap_pf"], 6), "pF", tool + ": array-level wires", spef_name),
        "array_net_cap_total": Metric(round(par["total_cap_pf"], 6), "pF",
                                      tool + ": array-level wires + the macros' port-net wires", spef_name),
        "array_spef_no_driver_nets": Metric(len(par["no_driver"]), "nets", tool, info),
        "array_spef_missing": Metric(len(par["missing"]), "items", tool + ": layers/vias/pins without data", info),
        **({"array_rc2dly_spef_nets": Metric(routed.metrics["spef_nets"].value, "nets",
                                             "rc2dly (qflow; not used for timing)", routed.spef.name)}
           if routed.spef else {}),     # only a route without windows writes one
    }


def _metrics(p, pe, bs, pe_info, bs_info, plan, net, routed, timing, liberty, work, pe_hit, bs_hit, times) -> Metrics:
    """The tiled step's metrics: the whole array's under tiled_* (flow.metrics.headline makes them the headline
    ones), the macros' under macro_*, timing as OpenSTA reported it with the hierarchical SPEF."""
    n_pe, n_bs = p.rows * p.cols, p.rows
    areas = cell_table(liberty)
    glue = [t for _, t, _ in net.cells if t not in net.macros]
    glue_area = sum(areas[t][0] for t in glue)
    pm, bm = pe_info["metrics"], bs_info["metrics"]
    rel = lambda path: str(Path(path).relative_to(work)) if Path(path).is_relative_to(work) else str(path)
    u = plan.units
    die = (plan.die[2] - plan.die[0]) * (plan.die[3] - plan.die[1]) / u ** 2
    place_area = n_pe * pm["place_cell_area"].value + n_bs * bm["place_cell_area"].value + glue_area
    synth_area = n_pe * pm["synth_cell_area"].value + n_bs * bm["synth_cell_area"].value + glue_area
    src_sum = f"{pm['place_cell_area'].source}, {bm['place_cell_area'].source}, glue/stat.txt"
    yosys = yosys_version()
    m: Metrics = {
        "physical_mode": Metric("tiled", "", "flow", "flow.physical"),
        "tiled_cell_area": Metric(round(synth_area, 3), "um^2", f"{yosys} (per macro) + liberty areas (glue)",
                                  src_sum),
        "place_cell_area": Metric(round(place_area, 3), "um^2", "liberty areas of placed cells", src_sum),
        "tiled_cells": Metric(n_pe * pm["place_cells"].value + n_bs * bm["place_cells"].value + len(glue), "cells",
                              f"{pm['place_cells'].tool} (macros) + {yosys} (glue)", src_sum),
        "glue_cells": Metric(len(glue), "cells", yosys, "glue/stat.txt"),
        "glue_cell_area": Metric(round(glue_area, 3), "um^2", "liberty areas", "glue/stat.txt"),
        "tiled_die_area": Metric(round(die, 3), "um^2", "flow (array floorplan)", rel(routed.def_path)),
        "macro_area_pe": Metric(round(pe.width * pe.height / u ** 2, 3), "um^2", "flow (macro LEF SIZE)", str(pe.lef)),
        "macro_cells_pe": pm["place_cells"],
        "macro_cell_area_pe": pm["place_cell_area"],
        "macro_area_bspline": Metric(round(bs.width * bs.height / u ** 2, 3), "um^2", "flow (macro LEF SIZE)",
                                     str(bs.lef)),
        "macro_cells_bspline": bm["place_cells"],
        "macro_cache_hits": Metric(int(pe_hit) + int(bs_hit), "of 2 macros", "flow", "build/.cache/macros"),
        "tiled_failed_nets": routed.metrics["failed_nets"],
        "tiled_wirelength": routed.metrics["wirelength"],   # array-level nets only (the macros' wires not included)
        "macro_failed_nets": Metric(pm["route_failed_nets"].value + bm["route_failed_nets"].value, "nets",
                                    pm["route_failed_nets"].tool,
                                    f"{pm['route_failed_nets'].source}, {bm['route_failed_nets'].source}"),
    }
    for k, v in timing.items():
        m[k] = Metric(v.value, v.unit, f"{v.tool} (hierarchical SPEF: macros rc2dly, array def_spef)", v.source)
    for macro, mm in (("pe", pm), ("bspline", bm)):     # how hard the macro was to route
        if "place_tries" in mm:
            m[f"macro_place_tries_{macro}"] = mm["place_tries"]
        # macros cached before place_relief existed: their placement folder says it (pnr-relief/)
        m[f"macro_place_relief_{macro}"] = mm.get("place_relief") or Metric(
            "pnr-relief/" in mm["place_cells"].source, "", "flow (placement folder pnr-relief/)",
            mm["place_cells"].source)
    for step, s in times.items():
        m[f"runtime_{step}"] = Metric(round(s, 2), "s", "flow (wall clock)", "")
    return m
