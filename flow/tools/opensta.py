"""Static timing with Debian's OpenSTA 2.0.17 (`sta`): setup WNS/TNS, critical path, fmax (power: power.py).

The script is opensta.tcl beside this file (the design and constraints: sta_setup.tcl, documented there).
Pre-route: no wires, ideal clock. Post-route: the router's SPEF and the propagated clock. fmax = 1/(period - WNS),
where WNS is the signed worst setup slack (positive when the target is met), so fmax is the clock the worst path
would allow.
"""
from __future__ import annotations

import re
import shutil
import string
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import ToolFailed, ToolMissing
from ..metrics import Metric, Metrics
from ..pdks import PdkInfo
from .spef import spef_summary

HERE = Path(__file__).parent
INSTALL = "apt-get install -y opensta"


@dataclass
class TimingResult:
    metrics: Metrics
    report: Path        # the sta output (also the log)


def sta_version() -> str:
    exe = shutil.which("sta")
    if exe is None:
        raise ToolMissing("sta (OpenSTA)", INSTALL)
    out = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=60).stdout.strip()
    return f"opensta {out}"


def _number(pattern: str, text: str, what: str, report: Path) -> float:
    found = re.search(pattern, text, re.M)
    if not found:
        raise ToolFailed("static timing (opensta)", str(report), f"no {what} in the report")
    return float(found.group(1))


def parse_report(text: str, period_ns: float, report: Path, stage: str, tool: str) -> Metrics:
    """Metrics `<stage>_wns/_tns/_fmax/_critical_arrival/_critical_path/_hold_slack(_registers)` from an
    opensta.tcl report (ns, MHz); the setup reports come first, the hold ones after "kan-dse: hold checks"."""
    scale = _number(r"^kan-dse: sta time units per ns: ([0-9.eE+-]+)", text, "unit scale", report)
    if abs(scale - 1.0) > 1e-3:
        raise ToolFailed("static timing (opensta)", str(report), f"time unit is not ns (scale {scale})")
    wns = _number(r"^worst slack (\S+)", text, "worst slack", report)
    tns = _number(r"^tns (\S+)", text, "total negative slack", report)
    arrival = _number(r"^\s+(\S+)\s+data arrival time", text, "critical path", report)
    start = re.search(r"^Startpoint: (\S+)", text, re.M)
    end = re.search(r"^Endpoint: (\S+)", text, re.M)
    hold, reg_hold = (re.search(rf"^kan-dse: {what}hold checks$.*?^\s+(\S+)\s+slack \((?:MET|VIOLATED)", text,
                                re.M | re.S) for what in ("", "register "))
    src = report.name
    metrics = {
        f"{stage}_wns": Metric(round(wns, 4), "ns", tool, src),
        f"{stage}_tns": Metric(round(tns, 4), "ns", tool, src),
        f"{stage}_fmax": Metric(round(1000.0 / (period_ns - wns), 3), "MHz", tool + " (1/(period - WNS))", src),
        f"{stage}_critical_arrival": Metric(round(arrival, 4), "ns", tool, src),
        f"{stage}_critical_path": Metric(f"{start.group(1) if start else '?'} -> {end.group(1) if end else '?'}",
                                         "", tool, src),
    }
    if hold:
        metrics[f"{stage}_hold_slack"] = Metric(round(float(hold.group(1)), 4), "ns",
                                                tool + " (worst hold path, report_checks -path_delay min)", src)
    if reg_hold:
        metrics[f"{stage}_hold_slack_registers"] = Metric(
            round(float(reg_hold.group(1)), 4), "ns", tool + " (worst hold path from a register to a register)", src)
    metrics.update(clock_network(text, stage, tool, src))
    return metrics


def clock_network(text: str, stage: str, tool: str, src: str) -> Metrics:
    """`<stage>_clock_sinks/_clock_latency_min/_clock_latency_max/_clock_skew` from opensta.tcl's clock section
    (propagated clock only: none pre-route). Latency: sys_clk's rising edge at a register clock pin (min and max
    over the pins: the insertion delay); skew: report_clock_skew's worst setup pair (launch latency - capture
    latency - CRPR), absent where no register-to-register path exists."""
    sinks = re.search(r"^kan-dse: clock sinks (\d+) latency (\S+) (\S+)$", text, re.M)
    if not sinks or not int(sinks.group(1)):
        return {}
    metrics = {f"{stage}_clock_sinks": Metric(int(sinks.group(1)), "pins", tool + " (all_registers -clock_pins, "
                                              "rising edge)", src),
               f"{stage}_clock_latency_min": Metric(float(sinks.group(2)), "ns", tool + " (propagated clock "
                                                    "arrival, earliest register clock pin)", src),
               f"{stage}_clock_latency_max": Metric(float(sinks.group(3)), "ns", tool + " (propagated clock "
                                                    "arrival, latest register clock pin)", src)}
    skew = re.search(r"^Latency\s+CRPR\s+Skew\n\S+ [\^v]\n\s*\S+\n\S+ [\^v]\n\s*\S+\s+\S+\s+(\S+)$", text, re.M)
    if skew:
        metrics[f"{stage}_clock_skew"] = Metric(float(skew.group(1)), "ns", tool + " (report_clock_skew: worst "
                                                "setup pair, launch - capture latency - CRPR)", src)
    return metrics


def spef_reads(spefs: list[tuple[str | None, Path]]) -> str:
    """read_spef lines for [(instance path or None for the top level, SPEF)]."""
    return "\n".join(f"read_spef -path {inst} {Path(f).resolve()}" if inst else f"read_spef {Path(f).resolve()}"
                     for inst, f in spefs)


def run_script(template: Path, values: dict, script: Path, report: Path) -> tuple[int, str, list[str]]:
    """Render the Tcl `template` with `values` into `script` (its `setup` placeholder: sta_setup.tcl, the design
    and constraints every script starts with, rendered with the same values), run sta on it with its output in
    `report`: (exit status, report text, errors). An unknown cell becomes a black box with a warning only: its
    paths vanish, so that warning counts as an error too."""
    setup = string.Template((HERE / "sta_setup.tcl").read_text()).substitute(values)
    script.write_text(string.Template(template.read_text()).substitute(values, setup=setup))
    with open(report, "w") as log:
        res = subprocess.run(["sta", "-no_splash", "-exit", str(script)], stdout=log, stderr=subprocess.STDOUT,
                             cwd=script.parent)
    text = report.read_text(errors="replace")
    errors = [a or b for a, b in re.findall(r"^Error: (.*)$|^Warning: (.*Creating black box.*)$", text, re.M)]
    return res.returncode, text, errors


def run_sta(netlist: Path, top: str, liberty: Path, pdk: PdkInfo, work: Path, period_ns: float,
            spef: Path | None = None, stage: str = "preroute", clock: str = "sys_clk",
            spefs: list[tuple[str | None, Path]] | None = None) -> TimingResult:
    """Time the gate netlist (with `spef` parasitics and a propagated clock when given). A hierarchical netlist
    gives `spefs` instead: [(instance path, SPEF)] read with `read_spef -path` (None: the top level's).
    A SPEF without any capacitance (asap7: its tech LEF has no R/C, so the router's SPEF is all zeros) is said
    so in the tool."""
    tool = sta_version()
    spefs = [(None, spef)] if spef else list(spefs or [])
    if spefs and all(spef_summary(f)["total_cap"] == 0 for f in {Path(f) for _, f in spefs}):
        tool += " [SPEF all zeros: the tech LEF has no R/C, wires not timed]"
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    script, report = work / f"sta_{stage}.tcl", work / f"sta_{stage}.log"
    # the read_spef lines go into the template's one placeholder (a run that rendered the template before
    # `spefs` existed fills the same placeholder)
    values = dict(liberty=liberty, netlist=Path(netlist).resolve(), top=top, clock=clock, period=f"{period_ns:g}",
                  spef=spef_reads(spefs) or "# pre-route: no parasitics",
                  propagate="set_propagated_clock [all_clocks]" if spefs else "# pre-route: ideal clock",
                  propagated=int(bool(spefs)))
    status, text, errors = run_script(HERE / "opensta.tcl", values, script, report)
    if status or errors:
        raise ToolFailed(f"static timing {stage} (opensta)", str(report),
                         errors[0] if errors else f"exit status {status}")
    return TimingResult(parse_report(text, period_ns, report, stage, tool), report)
