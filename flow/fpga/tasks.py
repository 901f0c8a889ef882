"""SiliconCompiler Tasks of the FPGA target: each wraps one module of flow/tools/ (see flow/fpga/__init__.py)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..metrics import Metric
from ..sc_tasks import METRICS_FILE, TOP, KanTask

# our metric -> (SiliconCompiler FPGA metric, unit as we record it)
SC_FPGA_METRICS = {"fpga_lut4": ("luts", None), "fpga_dsp": ("dsps", None), "fpga_bram": ("brams", None),
                   "fpga_ff": ("registers", None), "fmax": ("fmax", "MHz"), "fpga_resources": ("utilization", "%")}


class FpgaTask(KanTask):
    """KanTask with the FPGA project's metric names, and the step's CPU time (cputime_<step>: this node's process
    and the tool processes it waited for), which unlike the wall clock does not depend on the machine's load."""

    def run(self) -> int:
        import resource
        before = _cpu_seconds(resource)
        rc = super().run()
        path = Path(METRICS_FILE)
        if rc == 0 and path.exists():
            data = json.loads(path.read_text())
            data[f"cputime_{self.task()}"] = Metric(round(_cpu_seconds(resource) - before, 2), "s",
                                                    "flow (user + system time of the step and its tools)",
                                                    METRICS_FILE).as_dict()
            path.write_text(json.dumps(data, indent=1))
        return rc

    def post_process(self):
        path = Path(METRICS_FILE)
        if not path.exists():
            return
        for name, m in json.loads(path.read_text()).items():
            if name in SC_FPGA_METRICS and isinstance(m["value"], (int, float)) and not isinstance(m["value"], bool):
                sc, unit = SC_FPGA_METRICS[name]
                self.record_metric(sc, m["value"], source_file=METRICS_FILE, source_unit=unit, quiet=True)


class FpgaSynthTask(FpgaTask):
    step_name, inputs, outputs = "FPGA synthesis (yosys synth_ecp5)", ("v",), ("json", "vg")

    def task(self):
        return "fpga_synth"

    def execute(self, node):
        from ..tools.yosys_fpga import synthesize_fpga
        fpga = self.cfg.fpga
        res = synthesize_fpga(node / "inputs" / f"{TOP}.v", TOP, node / "yosys", fpga.dsp, fpga.table_ram)
        shutil.copy(res.json, node / "outputs" / f"{TOP}.json")
        shutil.copy(res.netlist, node / "outputs" / f"{TOP}.vg")
        return self._relative(res.metrics, node)


def _cpu_seconds(resource) -> float:
    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def netlist_cells(netlist_json: Path) -> dict[str, int]:
    """Primitive type -> count in the top module of a Yosys JSON netlist."""
    cells: dict[str, int] = {}
    for cell in json.loads(Path(netlist_json).read_text())["modules"][TOP]["cells"].values():
        cells[cell["type"]] = cells.get(cell["type"], 0) + 1
    return cells


class FpgaNetSimTask(FpgaTask):
    """The mapped ECP5 netlist (Yosys cell models + ours) through the cocotb testbench, against the golden model."""
    step_name, inputs, outputs = "FPGA netlist simulation (cocotb)", ("json", "vg"), ("json",)

    def task(self):
        return "fpga_netsim"

    def execute(self, node):
        from ..errors import ToolFailed
        from ..tools.yosys_fpga import simulation_models
        from ..verify import run_cocotb, simulation_tool
        cfg = self.cfg
        models = simulation_models(netlist_cells(node / "inputs" / f"{TOP}.json"), node / "models")
        netlist = node / "models" / f"{TOP}_fpga.v"     # the cocotb runner knows Verilog by its suffix
        shutil.copy(node / "inputs" / f"{TOP}.vg", netlist)
        res = run_cocotb(cfg.params, [netlist, *models], node / "cocotb", vectors=cfg.flow.verify_vectors,
                         seed=cfg.flow.seed)
        self._pass_on("json")
        if not res.passed:
            first = res.first_mismatches[0] if res.first_mismatches else {}
            raise ToolFailed(self.step_name, str(res.log), f"{res.mismatches} mismatches of {res.vectors} vectors"
                             + (f", first at cycle {first.get('cycle')}" if first else ""))
        tool = f"{simulation_tool()}, Yosys ECP5 cell models"
        return self._relative({"verify_fpga_vectors": Metric(res.vectors, "vectors", tool, str(res.log)),
                               "verify_fpga_mismatches": Metric(res.mismatches, "", tool, str(res.log))}, node)


class NextpnrTask(FpgaTask):
    step_name, inputs, outputs = "place and route (nextpnr-ecp5)", ("json",), ("config",)

    def task(self):
        return "pnr"

    def execute(self, node):
        from ..tools.nextpnr import place_and_route
        cfg = self.cfg
        fpga = cfg.fpga
        metrics, chosen = place_and_route(node / "inputs" / f"{TOP}.json", node / "nextpnr", fpga.device,
                                          fpga.package, fpga.speed, 1000.0 / cfg.flow.clock_period_ns, fpga.seeds)
        shutil.copy(chosen.textcfg, node / "outputs" / f"{TOP}.config")
        return self._relative(metrics, node)


class BitstreamTask(FpgaTask):
    step_name, inputs, outputs = "bitstream (ecppack)", ("config",), ("bit",)

    def task(self):
        return "bitstream"

    def execute(self, node):
        from ..tools.ecppack import pack
        bit, metrics = pack(node / "inputs" / f"{TOP}.config", node / "ecppack")
        shutil.copy(bit, node / "outputs" / f"{TOP}.bit")
        return self._relative(metrics, node)
