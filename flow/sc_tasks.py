"""SiliconCompiler 0.38 Tasks of the KAN flow: our tools run as Python tasks (`run()`), SiliconCompiler owns the
node folders, logs, metrics and resume.

SiliconCompiler's own yosys/openroad/opensta tasks need Yosys >= 0.48 and OpenSTA >= 2.6 executables that do
not exist here, so each step below wraps the module of flow/tools/ that drives the tool. Every task gets the
whole design point as the `kanconfig` var (the normalised config as JSON) and the PDK data folder as `pdkroot`.

A node passes the netlist on as outputs/kan_array.<ext> (SiliconCompiler names outputs after the top module) and
leaves its own metrics, with units and sources, in reports/kan_metrics.json; a failure leaves its one-line
message in reports/kan_error.json. Place and route hand the qflow work folder on through kan_array.place.json
(absolute paths into the place node), because qrouter needs the files graywolf left there.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import traceback
from pathlib import Path

from siliconcompiler import Task

# imported with the process, not when a node starts: a run that spans a code change must not mix module versions
from . import tiled
from .errors import FlowError
from .metrics import Metric
from .pdks import REPO
from .tools import qflow_pnr

TOP = "kan_array"
METRICS_FILE, ERROR_FILE = "reports/kan_metrics.json", "reports/kan_error.json"
# A node's metric -> (SiliconCompiler metric with the same definition in SC 0.38's schema
# (siliconcompiler/metrics/asic.py), the unit as we record it: SC converts it to its own). Left out: our
# utilization (cells / core area; SC's is cells / die area), the tiled flow's wirelength (array-level nets only;
# SC's is the design's total). A node after placement (place, tiled) records its placed cells' area.
SC_METRICS = {
    **{name: ("cellarea", "um^2") for name in ("cell_area", "place_cell_area")},
    **{name: ("totalarea", "um^2") for name in ("place_die_area", "tiled_die_area")},
    **{name: ("cells", None) for name in ("cells", "place_cells", "tiled_cells")},
    "registers": ("registers", None), "route_wirelength": ("wirelength", "um"),
    **{f"{stage}_{name}": sc for stage in ("preroute", "postroute") for name, sc in (
        ("wns", ("setupslack", "ns")), ("tns", ("setuptns", "ns")), ("fmax", ("fmax", "MHz")),
        ("hold_slack", ("holdslack", "ns")))},
    "power_total": ("averagepower", "mW"), "power_leakage": ("leakagepower", "mW"),
}
# SC's worst negative slacks are the signed worst slacks truncated at zero ("positive values truncated to zero")
SC_NEGATIVE_PART = {"setupslack": "setupwns", "holdslack": "holdwns"}


class KanTask(Task):
    """Base: config and PDK from the task vars, FlowError -> reports/kan_error.json and a failed node."""
    step_name = ""          # the words a failure message uses for this step

    def __init__(self):
        super().__init__()
        self.add_parameter("kanconfig", "str", "the design point: normalised flow config as JSON")
        self.add_parameter("pdkroot", "str", "folder holding lambdapdk/<pdk>/... ('' = default search)")
        self.add_parameter("flowcode", "str", "hash of the flow's own code: a change reruns the node on resume")

    def tool(self):
        return "kan"

    def setup(self):
        super().setup()
        self.set_threads(1)     # sweeps run several flows side by side
        self.add_required_key("var", "kanconfig")
        self.add_required_key("var", "flowcode")
        for ext in self.inputs:
            self.add_input_file(ext=ext)
        for ext in self.outputs:
            self.add_output_file(ext=ext)

    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()

    @property
    def cfg(self):
        from .config import from_dict
        data = json.loads(self.get("var", "kanconfig"))
        return from_dict(data, where=f"{data['name']} (kanconfig)", name=data["name"])

    @property
    def pdk(self):
        from .pdks import resolve
        return resolve(self.cfg.pdk, self.get("var", "pdkroot") or None)

    @property
    def liberty(self) -> Path:
        from .tools.liberty import prepared_liberty
        return prepared_liberty(self.pdk)

    def run(self) -> int:
        Path("reports").mkdir(exist_ok=True)
        try:
            metrics = self.execute(Path.cwd())
        except FlowError as exc:
            Path(ERROR_FILE).write_text(json.dumps({"message": str(exc), "exit_code": exc.exit_code}))
            print(f"error: {exc}")
            return 1
        except Exception as exc:
            traceback.print_exc()
            msg = (f"{self.step_name or self.task()} failed: {type(exc).__name__}: {exc} "
                   f"(log: {Path.cwd() / (self.step + '.log')})")
            Path(ERROR_FILE).write_text(json.dumps({"message": msg, "exit_code": 1}))
            return 1
        Path(METRICS_FILE).write_text(json.dumps({k: m.as_dict() for k, m in metrics.items()}, indent=1))
        return 0

    def post_process(self):
        path = Path(METRICS_FILE)
        if not path.exists():
            return
        for name, m in json.loads(path.read_text()).items():
            sc = SC_METRICS.get(name)
            if sc and isinstance(m["value"], (int, float)) and not isinstance(m["value"], bool):
                self.record_metric(sc[0], m["value"], source_file=METRICS_FILE, source_unit=sc[1], quiet=True)
                if sc[0] in SC_NEGATIVE_PART:
                    self.record_metric(SC_NEGATIVE_PART[sc[0]], min(m["value"], 0), source_file=METRICS_FILE,
                                       source_unit=sc[1], quiet=True)

    def execute(self, node: Path) -> dict[str, Metric]:
        raise NotImplementedError

    @staticmethod
    def _relative(metrics: dict[str, Metric], node: Path) -> dict[str, Metric]:
        """Sources as paths relative to the job folder (<step>/<index>/...), the same in every copy."""
        job = node.parent.parent
        out = {}
        for k, m in metrics.items():
            src = Path(m.source)
            src = src if src.is_absolute() else node / src
            out[k] = Metric(m.value, m.unit, m.tool, str(src.relative_to(job)) if src.is_relative_to(job)
                            and src.is_file() else m.source)
        return out

    @staticmethod
    def _pass_on(ext: str) -> None:
        shutil.copy(f"inputs/{TOP}.{ext}", f"outputs/{TOP}.{ext}")


class RtlTask(KanTask):
    """Generate kan_array.v with the Migen generator."""
    step_name, outputs = "RTL generation (migen)", ("v",)

    def task(self):
        return "rtl"

    def execute(self, node):
        from rtl_gen.generator import write_rtl

        from .versions import code_hash, tool_label
        path = write_rtl(self.cfg.params, node / "outputs")
        p = self.cfg.params
        tool = f"kan_dse generator, code {code_hash()} ({tool_label('migen')})"
        return self._relative({"acc_width": Metric(p.acc_width, "bits", tool, str(path)),
                               "latency": Metric(p.latency, "cycles", tool, str(path))}, node)


class SimTask(KanTask):
    """cocotb + Icarus against the golden model: the RTL (`rtlsim`) or the mapped gates (`gatesim`)."""
    gates = False

    def task(self):
        return "gatesim" if self.gates else "rtlsim"

    def execute(self, node):
        from .errors import ToolFailed
        from .verify import run_cocotb, simulation_tool
        cfg = self.cfg
        ext = self.inputs[0]
        source = node / "inputs" / f"{TOP}.{ext}"
        if self.gates:
            from .tools.yosys_synth import simulatable_netlist
            source = simulatable_netlist(source, self.liberty, TOP, node / "sim")
        res = run_cocotb(cfg.params, [source], node / "cocotb", vectors=cfg.flow.verify_vectors, seed=cfg.flow.seed)
        self._pass_on(ext)
        if not res.passed:
            first = res.first_mismatches[0] if res.first_mismatches else {}
            raise ToolFailed(self.step_name, str(res.log), f"{res.mismatches} mismatches of {res.vectors} vectors"
                             + (f", first at cycle {first.get('cycle')}" if first else ""))
        kind = "gates" if self.gates else "rtl"
        tool = simulation_tool()
        return self._relative({f"verify_{kind}_vectors": Metric(res.vectors, "vectors", tool, str(res.log)),
                               f"verify_{kind}_mismatches": Metric(res.mismatches, "", tool, str(res.log))}, node)


class RtlSimTask(SimTask):
    step_name, inputs, outputs = "RTL simulation (cocotb)", ("v",), ("v",)


class GateSimTask(SimTask):
    step_name, inputs, outputs, gates = "gate-level simulation (cocotb)", ("vg",), ("vg",), True


class SynthTask(KanTask):
    step_name, inputs, outputs = "synthesis (yosys)", ("v",), ("vg",)

    def task(self):
        return "synth"

    def execute(self, node):
        from .tools.yosys_synth import synthesize
        cfg = self.cfg
        res = synthesize(node / "inputs" / f"{TOP}.v", TOP, self.pdk, self.liberty, node / "yosys",
                         cfg.flow.clock_period_ns, cfg.flow.synth_strategy, cfg.flow.booth)
        shutil.copy(res.netlist, node / "outputs" / f"{TOP}.vg")
        return self._relative({k: Metric(m.value, m.unit, m.tool, str(node / "yosys" / m.source)
                                         if m.tool != "flow" else m.source)
                               for k, m in res.metrics.items()}, node)


class StaTask(KanTask):
    """OpenSTA: pre-route on the synthesized netlist, post-route with the router's SPEF."""
    step_name = "static timing (opensta)"
    post_route = False

    def task(self):
        return "sta_route" if self.post_route else "sta_synth"

    def execute(self, node):
        from .tools.opensta import run_sta
        spef = node / "inputs" / f"{TOP}.spef" if self.post_route else None
        res = run_sta(node / "inputs" / f"{TOP}.vg", TOP, self.liberty, self.pdk, node / "sta",
                      self.cfg.flow.clock_period_ns, spef=spef, stage="postroute" if self.post_route else "preroute")
        for ext in self.outputs:
            self._pass_on(ext)
        return self._relative({k: Metric(m.value, m.unit, m.tool, str(res.report)) for k, m in res.metrics.items()},
                              node)


class PreStaTask(StaTask):
    inputs, outputs = ("vg",), ("vg",)


class PostStaTask(StaTask):
    inputs, outputs, post_route = ("vg", "spef", "def"), ("vg", "def", "spef"), True


class PowerTask(KanTask):
    """Energy per inference: the routed gates simulated on the power workload (cocotb + Icarus, VCD of the
    streaming window), every driving pin annotated with its toggles in OpenSTA with the routed parasitics."""
    step_name, inputs, outputs = "power (cocotb VCD + opensta)", ("vg", "spef"), ("vg",)

    def task(self):
        return "power"

    def spefs(self, node: Path) -> list[tuple[str | None, Path]]:
        return [(None, node / "inputs" / f"{TOP}.spef")]

    def execute(self, node):
        from .tools.power import workload_power
        cfg = self.cfg
        metrics, _ = workload_power(cfg.params, node / "inputs" / f"{TOP}.vg", self.liberty, self.spefs(node),
                                    node / "power",
                                    cfg.flow.clock_period_ns, cfg.flow.power_vectors, cfg.flow.seed, TOP,
                                    REPO / cfg.model if cfg.flow.power_workload == "model" else None)
        self._pass_on("vg")
        return self._relative({k: Metric(m.value, m.unit, m.tool, str(node / "power" / m.source) if m.source
                                         else "") for k, m in metrics.items()}, node)


class TiledPowerTask(PowerTask):
    """The power step of the tiled flow: the hierarchical netlist over the macros' routed netlists, every macro
    instance's SPEF and the array level's (the tiled node lists them), one power figure per module."""
    inputs = ("vg", "spefs.json")

    def spefs(self, node: Path) -> list[tuple[str | None, Path]]:
        return [(i, Path(f)) for i, f in json.loads((node / "inputs" / f"{TOP}.spefs.json").read_text())]


def _metrics_with_sources(metrics: dict, node: Path, prefix: str) -> dict[str, Metric]:
    """P&R metrics named `<prefix>_<name>` (place and route both report `cells`, runtimes...), sources made
    paths into the qflow work folder of this node."""
    return {f"{prefix}_{k}": Metric(m.value, m.unit, m.tool, str(node / "qflow" / m.source.split(" + ")[0]))
            for k, m in metrics.items()}


class PlaceTask(KanTask):
    step_name, inputs, outputs = "placement (qflow: graywolf)", ("vg",), ("def", "vg", "place.json")

    def task(self):
        return "place"

    def execute(self, node):
        res = qflow_pnr.place(node / "inputs" / f"{TOP}.vg", TOP, self.pdk, self.liberty, node / "qflow",
                              clock_port="sys_clk")
        shutil.copy(res.def_path, node / "outputs" / f"{TOP}.def")
        shutil.copy(res.netlist, node / "outputs" / f"{TOP}.vg")
        fields = {f.name: getattr(res, f.name) for f in dataclasses.fields(res)}
        fields["metrics"] = {k: m.as_dict() for k, m in res.metrics.items()}
        (node / "outputs" / f"{TOP}.place.json").write_text(
            json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in fields.items()}, indent=1))
        return self._relative(_metrics_with_sources(res.metrics, node, "place"), node)


class RouteTask(KanTask):
    step_name, inputs, outputs = "routing (qflow: qrouter)", ("place.json",), ("def", "vg", "spef")

    def task(self):
        return "route"

    def execute(self, node):
        data = json.loads((node / "inputs" / f"{TOP}.place.json").read_text())
        data["metrics"] = {k: Metric(**m) for k, m in data["metrics"].items()}
        placed = qflow_pnr.PlaceResult(**{f.name: Path(data[f.name]) if "Path" in str(f.type) and data[f.name]
                                          else data[f.name] for f in dataclasses.fields(qflow_pnr.PlaceResult)})
        res = qflow_pnr.route(placed, self.pdk, node / "qflow")
        for ext, path in (("def", res.def_path), ("vg", res.netlist), ("spef", res.spef)):
            shutil.copy(path, node / "outputs" / f"{TOP}.{ext}")
        from .tools.die_plot import render_die
        try:
            render_die(res.def_path, self.pdk, node / "reports" / f"{TOP}_die.png")
        except Exception as exc:
            print(f"warning: die picture not rendered: {exc}")
        return self._relative(_metrics_with_sources(res.metrics, node, "route"), node)


class TiledTask(KanTask):
    """The array-scale flow (flow/tiled/) as one node: harden the PE and B-spline macros (cached across runs),
    tile them, route the array-level nets, time the hierarchy with every macro's SPEF, check the tiled gates."""
    step_name, outputs = "tiled place and route (flow.tiled)", ("def", "vg", "spef", "spefs.json")

    def __init__(self):
        super().__init__()
        self.add_parameter("gateverify", "bool", "run the gate-level cocotb check of the tiled netlist")

    def task(self):
        return "tiled"

    def execute(self, node):
        res = tiled.run_tiled(self.cfg, node / "tiled", pdk_root=self.get("var", "pdkroot") or None,
                        verify=bool(self.get("var", "gateverify")))
        art = res["artifacts"]
        for ext, path in (("def", art["def"]), ("vg", art["netlist"][0]), ("spef", art["spef"][0])):
            shutil.copy(path, node / "outputs" / f"{TOP}.{ext}")
        # every SPEF with its instance path (macros' from the cache, the array level's here): the power step reads them
        (node / "outputs" / f"{TOP}.spefs.json").write_text(json.dumps([[i, str(Path(f).resolve())]
                                                                         for i, f in art["spefs"]], indent=0))
        if art.get("png"):
            shutil.copy(art["png"], node / "reports" / f"{TOP}_die.png")
        return self._relative(res["metrics"], node)
