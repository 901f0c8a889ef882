"""cocotb runner: simulate a Verilog netlist of kan_array against the golden model.

The test module is flow/tb/kan_array_tb.py; this file only builds and runs it.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path

from rtl_gen.generator import TOP
from rtl_gen.params import KanParams

from .errors import ToolMissing
from .versions import tool_label


@dataclasses.dataclass
class VerifyResult:
    passed: bool
    vectors: int
    mismatches: int
    first_mismatches: list
    seconds: float
    log: Path


def simulation_tool() -> str:
    """The tool string of a metric from a golden-model simulation, with the recorded versions."""
    return f"{tool_label('cocotb')} + {tool_label('iverilog')} (golden model)"


def run_cocotb(p: KanParams, sources: list[Path], work: Path, vectors: int, seed: int,
               simulator: str = "icarus") -> VerifyResult:
    """Build `sources` (kan_array as top) and stream `vectors` random inputs plus corners."""
    data, seconds, log = simulate(sources, work, "flow.tb.kan_array_tb",
                                  {"params": dataclasses.asdict(p), "seed": seed, "vectors": vectors}, simulator)
    if data is None:
        return VerifyResult(False, 0, -1, [], seconds, log)
    return VerifyResult(data["mismatches"] == 0, data["vectors"], data["mismatches"],
                        data["first_mismatches"], seconds, log)


def gate_check_scope(p: KanParams, mode: str, work: Path, macro_rtl: dict[str, str]) -> tuple[str, dict, Path | None]:
    """What the tiled flow's gate-level check simulates as routed gates (flow.verify_gates). 'macros': the array
    glue, every B-spline unit and the PEs of the first and last row (the first row's load chain and basis outputs
    feed the rows below, the last row adds live partial sums and drives y); the other PEs are their RTL
    (`macro_rtl` {module: Verilog text}). Each macro is checked in place, every glue cell and connection is
    simulated, and the cost stays that of about two rows at any array size. 'full': every instance as gates.
    -> (description, yosys_synth.simulatable_netlist's `macros`, the RTL file or None)."""
    if mode == "full":
        return "every macro instance and the glue as routed gates", {"kan_pe": None, "kan_bspline": None}, None
    pes = sorted({f"pe_{r}_{c}" for r in (0, p.rows - 1) for c in range(p.cols)})
    rtl = Path(work) / "macros_rtl.v"
    rtl.parent.mkdir(parents=True, exist_ok=True)
    rtl.write_text("\n\n".join(macro_rtl.values()) + "\n")
    return (f"glue, all {p.rows} B-spline units and {len(pes)} of {p.rows * p.cols} PEs (rows 0 and {p.rows - 1}) "
            "as routed gates, the other PEs as RTL", {"kan_pe": pes, "kan_bspline": None}, rtl)


def _vcd_runner():
    """cocotb's Icarus runner with VCD dumping on: it passes vvp `-none` (no dump file) unless waves are on, and
    waves mean an FST of every signal; vvp takes the last dump-format flag, so `-vcd` after it wins."""
    from cocotb_tools.runner import Icarus

    class IcarusVcd(Icarus):
        def _get_sim_cmd_suffix(self):
            return [*super()._get_sim_cmd_suffix(), "-vcd"]
    return IcarusVcd()


def simulate(sources: list[Path], work: Path, test_module: str, job: dict,
             simulator: str = "icarus", dump: tuple[Path, list[str]] | None = None) -> tuple[dict | None, float, Path]:
    """Build `sources` with kan_array as top and run the cocotb `test_module` on them.

    The test reads `job` (plus "summary": where to write its result) from the JSON file named in $KAN_TB_JOB.
    `dump` = (VCD file, [scopes]) writes a VCD of the nets of each scope (one level: `$dumpvars(1, scope)`).
    -> (the summary it wrote, or None if it wrote none; seconds; sim log).
    """
    from cocotb_tools.runner import get_runner

    if simulator == "icarus" and shutil.which("iverilog") is None:
        raise ToolMissing("iverilog", "apt-get install -y iverilog")
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    job_file, summary, log = work / "tb_job.json", work / "tb_summary.json", work / "sim.log"
    summary.unlink(missing_ok=True)
    job_file.write_text(json.dumps({**job, "summary": str(summary)}))
    start = time.monotonic()
    runner, extra, args = get_runner(simulator), [], []
    if dump:
        vcd, scopes = dump
        dumper = work / "kan_vcd_dump.v"
        dumper.write_text("module kan_vcd_dump;\ninitial begin\n  $dumpfile(\"" + str(Path(vcd).resolve())
                          + "\");\n" + "".join(f"  $dumpvars(1, {s});\n" for s in scopes) + "end\nendmodule\n")
        runner, extra, args = _vcd_runner(), [dumper], ["-s", "kan_vcd_dump"]
    runner.build(sources=[Path(s).resolve() for s in [*sources, *extra]], hdl_toplevel=TOP,
                 build_dir=work / "sim_build", always=True, timescale=("1ns", "1ps"), log_file=work / "build.log",
                 build_args=args)
    try:
        runner.test(test_module=test_module, hdl_toplevel=TOP, test_dir=work,
                    results_xml=str(work / "results.xml"), extra_env={"KAN_TB_JOB": str(job_file)}, log_file=log)
    except SystemExit:
        pass  # under pytest the runner exits on a failed test; the summary below says what failed
    seconds = time.monotonic() - start
    return (json.loads(summary.read_text()) if summary.exists() else None), seconds, log
