"""FPGA synthesis with Yosys 0.70 (pyosys, `synth_ecp5`): RTL -> ECP5 primitives, as nextpnr JSON and Verilog.

Runs the script yosys_fpga.ys beside this file in an isolated child process, as flow/tools/yosys_synth.py runs
ASIC synthesis. `dsp: false` passes `-nodsp` (multipliers in LUTs and CCU2C carry chains); `table_ram: lut` passes
`-nobram`, `bram` forces every basis-table ROM into DP16KD block RAM with the `rom_style` attribute (Yosys maps a
256 x 3-bit table to logic by its own cost model).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..metrics import Metric, Metrics
from .yosys_synth import run_isolated_script, yosys_version

HERE = Path(__file__).parent
# primitive -> (metric, unit, what it is)
PRIMITIVES = {"LUT4": ("fpga_lut4", "LUT4", "4-input LUTs"), "TRELLIS_FF": ("fpga_ff", "FF", "flip-flops"),
              "CCU2C": ("fpga_ccu2", "CCU2C", "carry cells (2 LUT4 + carry each)"),
              "MULT18X18D": ("fpga_dsp", "MULT18X18D", "18x18 DSP multipliers"),
              "DP16KD": ("fpga_bram", "DP16KD", "18 kbit block RAMs"),
              "TRELLIS_DPR16X4": ("fpga_lutram", "DPR16X4", "LUT RAMs"),
              "PFUMX": ("fpga_pfumx", "PFUMX", "LUT5 muxes"), "L6MUX21": ("fpga_l6mux", "L6MUX21", "LUT6 muxes")}


@dataclass
class FpgaSynthResult:
    json: Path          # nextpnr input
    netlist: Path       # Verilog of the same netlist, for simulation
    log: Path
    cells: dict[str, int]
    metrics: Metrics


def _cell_counts(design) -> dict[str, int]:
    """Primitive type -> count in the top module (runs in the Yosys child)."""
    counts: dict[str, int] = {}
    for cell in design.top_module().cells_.values():
        kind = cell.type.str().lstrip("\\")
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def synthesize_fpga(rtl: Path, top: str, work: Path, dsp: bool, table_ram: str) -> FpgaSynthResult:
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    log, stat = work / "yosys_fpga.log", work / "stat.txt"
    log.unlink(missing_ok=True)
    options = " ".join(o for o, on in (("-nodsp", not dsp), ("-nobram", table_ram == "lut")) if on)
    rom_style = ('setattr -set rom_style "block" t:$mem_v2' if table_ram == "bram"
                 else "# table_ram: lut (-nobram): the ROMs stay logic")
    values = dict(rtl=Path(rtl).resolve(), top=top, options=options, rom_style=rom_style, stat=stat,
                  json=work / f"{top}.json", netlist=work / f"{top}_fpga.v")
    cells = run_isolated_script("FPGA synthesis (yosys synth_ecp5)", HERE / "yosys_fpga.ys", values, work, log,
                                _cell_counts)
    tool = f"{yosys_version()} synth_ecp5"
    metrics: Metrics = {name: Metric(cells.get(prim, 0), unit, tool, str(stat))
                        for prim, (name, unit, _) in PRIMITIVES.items()}
    metrics["fpga_dsp_option"] = Metric(dsp, "", "flow config", "fpga.dsp")
    metrics["fpga_table_ram"] = Metric(table_ram, "", "flow config", "fpga.table_ram")
    return FpgaSynthResult(values["json"], values["netlist"], log, cells, metrics)


# Yosys ships these only as black boxes: our behavioural models of the modes synth_ecp5 uses (each stops the
# simulation on a mode it does not implement)
MODELS_WITHOUT_YOSYS_SIM = {"MULT18X18D": HERE.parent / "fpga" / "mult18x18d_sim.v",
                            "DP16KD": HERE.parent / "fpga" / "dp16kd_sim.v"}


def simulation_models(cells: dict[str, int], work: Path) -> list[Path]:
    """Verilog models of every ECP5 primitive in a synth_ecp5 netlist, for Icarus: Yosys' own cells_sim_ecp5.v
    (its `include`s inlined once each; an elaboration-time $error, which Icarus 11 rejects, made a $fatal; its
    black-box DP16KD left out) plus our models of the black boxes the netlist uses (MODELS_WITHOUT_YOSYS_SIM)."""
    import re

    from pyosys import __file__ as pyosys_init

    share = Path(pyosys_init).parent / "share" / "lattice"
    seen: set[Path] = set()

    def inline(path: Path) -> str:
        if path in seen:
            return ""
        seen.add(path)
        text = re.sub(r'^\s*`include\s+"([^"]+)"', lambda m: inline(path.parent / m[1]), path.read_text(), flags=re.M)
        return re.sub(r"(?m)^(\s*)\$error\(", r"\1initial $fatal(1, ", text)

    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    library = work / "cells_sim_ecp5_icarus.v"
    # the black box would clash with our model of the same name (and is never simulatable)
    text = inline(share / "cells_sim_ecp5.v")
    library.write_text(re.sub(r"\(\* blackbox \*\)\s*module DP16KD\(.*?endmodule", "", text, flags=re.S))
    return [library, *(m for c, m in MODELS_WITHOUT_YOSYS_SIM.items() if c in cells)]
