"""The SiliconCompiler FPGA project of a `target: fpga` design point (flowgraph in flow/fpga/__init__.py)."""
from __future__ import annotations

import shutil
from pathlib import Path

from .. import sc_tasks
from ..config import Config
from ..errors import ToolMissing
from . import tasks

# (step, task class, verification only?, last stop_after level that still runs it): as physical.STEPS
STEPS = (("rtl", sc_tasks.RtlTask, False, "synth"), ("rtlsim", sc_tasks.RtlSimTask, True, "synth"),
         ("fpga_synth", tasks.FpgaSynthTask, False, "synth"), ("fpga_netsim", tasks.FpgaNetSimTask, True, "synth"),
         ("pnr", tasks.NextpnrTask, False, "place"), ("bitstream", tasks.BitstreamTask, False, "route"))


def fpga_steps(cfg: Config, verify: bool) -> list[tuple[str, type]]:
    from ..physical import LEVELS
    stop = LEVELS.index(cfg.flow.stop_after)
    return [(s, cls) for s, cls, ver, level in STEPS if LEVELS.index(level) <= stop and (verify or not ver)]


def check_fpga_tools(steps: list[str]) -> None:
    """Fail before starting when a tool is missing: one line with the install command."""
    if {"rtlsim", "fpga_netsim"} & set(steps) and shutil.which("iverilog") is None:
        raise ToolMissing("iverilog", "apt-get install -y iverilog")
    if "fpga_synth" in steps:
        from ..tools.yosys_synth import libyosys
        libyosys()
    if {"pnr", "bitstream"} & set(steps):
        from ..tools.nextpnr import executable
        executable("nextpnr-ecp5")
        executable("ecppack")


def build_fpga_project(cfg: Config, work_dir: Path, jobname: str, verify: bool, scheduler: str = "local",
                       queue: str | None = None):
    from siliconcompiler import FPGA, Design, FPGADevice

    from ..physical import DESIGN, configure_project
    from ..tools.nextpnr import device_name

    design = Design(DESIGN)
    with design.active_fileset("rtl"):
        design.set_topmodule(DESIGN)
    proj = FPGA(design)
    proj.add_fileset("rtl")
    f = cfg.fpga
    device = FPGADevice(device_name(f.device, f.package, f.speed))
    device.set_partname(device.name)
    device.set_lutsize(4)
    proj.set_fpga(device)
    steps = fpga_steps(cfg, verify)
    configure_project(proj, cfg, steps, work_dir, jobname, verify, None, scheduler, queue)
    return proj, [s for s, _ in steps]
