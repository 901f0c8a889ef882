"""Shared fixtures, and the one rule for tests that need the EDA tools.

Tests marked `eda` run real tools (Icarus + cocotb, Yosys, OpenSTA, graywolf, qrouter and the qflow helpers) that
`.ci/install.sh` installs: where one is missing they fail with the install command, never skip, so a broken install
cannot pass as green. `pytest -m "not eda"` runs the rest (pure Python, under a minute). Tests that need what CI
cannot always have skip with a one-line reason: PDK data that is not installed, root for the throwaway Slurm,
PyTorch (optional group `gpu`).
"""
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FLOW = [sys.executable, "-m", "flow.cli"]


def running(pid: int) -> bool:
    """pid exists and is not a zombie (a dead process whose exit status init has not collected yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.fixture
def write_yaml(tmp_path):
    """Write a YAML text to a temp file and return its path."""
    def _write(text: str, name: str = "cfg.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path
    return _write


@pytest.fixture
def ci_sweep(tmp_path):
    """The shipped ci sweep under a unique name, so runs of this test never share a cache."""
    name = f"ci-{os.getpid()}-{time.time_ns()}"
    text = (REPO / "configs/ci-sweep.yaml").read_text().replace("name: ci-sweep", f"name: {name}")
    path = tmp_path / "ci.yaml"
    path.write_text(text.replace("base: tiny.yaml", f"base: {REPO / 'configs/tiny.yaml'}"))
    yield path, name, tmp_path / "reports"
    shutil.rmtree(REPO / "build/sweeps" / name, ignore_errors=True)


QFLOW_BIN = Path("/usr/lib/qflow/bin")
EDA_TOOLS = ("iverilog", "sta", "graywolf", "qrouter")


def _missing_eda_tools() -> list[str]:
    missing = [t for t in EDA_TOOLS if shutil.which(t) is None and not (QFLOW_BIN / t).exists()]
    return missing + [t for t in ("blifFanout", "rc2dly") if not (QFLOW_BIN / t).exists()]


def pytest_runtest_setup(item):
    if item.get_closest_marker("eda") and (missing := _missing_eda_tools()):
        pytest.fail(f"EDA tools missing: {', '.join(missing)}: run `bash .ci/install.sh`", pytrace=False)
