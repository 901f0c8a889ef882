"""Versions of every tool a result depends on, recorded with each result and hashed into cache keys."""
from __future__ import annotations

import functools
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from rtl_gen.generator import GENERATOR_VERSION

PYTHON_PACKAGES = ("pyosys", "siliconcompiler", "lambdapdk", "cocotb", "migen", "numpy")
DEBIAN_PACKAGES = ("iverilog", "opensta", "graywolf", "qrouter", "qflow")
# Bumped when the tiled flow changes what a hardened macro or a tiled result is (pins, keep-outs, floorplan):
# it is part of every macro key and, through tool_versions(), of every sweep point's key.
TILED_VERSION = "8"


@functools.cache
def tool_versions() -> dict[str, str]:
    """{tool: version}; a missing tool is recorded as 'missing', never guessed."""
    versions = {"kan_dse_generator": GENERATOR_VERSION, "kan_dse_tiled": TILED_VERSION}
    for pkg in PYTHON_PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "missing"
    res = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\n", *DEBIAN_PACKAGES],
                         capture_output=True, text=True)
    found = dict(line.split(" ", 1) for line in res.stdout.splitlines() if " " in line)
    versions.update({pkg: found.get(pkg) or "missing" for pkg in DEBIAN_PACKAGES})
    return versions


def git_output(*args: str) -> str:
    try:
        res = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent)
        return res.stdout.strip() if res.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def flow_commit() -> str:
    """Short commit of the code of this checkout: the last commit that changed anything outside reports/ (so a
    committed report names the code that wrote it, and committing it changes nothing), `+dirty` with uncommitted
    changes to tracked files outside reports/."""
    commit = git_output("log", "-1", "--format=%h", "--abbrev=10", "--", ":(top)", ":(top,exclude)reports")
    if not commit:
        return "unknown (not a git checkout)"
    # changed report files do not make the code dirty (rebuilding a committed report changes them)
    changed = git_output("status", "--porcelain", "--untracked-files=no", "--", ":(top)", ":(top,exclude)reports")
    return commit + ("+dirty" if changed else "")


def machine() -> str:
    """CPU model, cores, memory of this machine (recorded with each sweep point)."""
    cpu = ""
    try:
        cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "")
        mem = next((int(ln.split()[1]) for ln in open("/proc/meminfo") if ln.startswith("MemTotal")), 0)
    except OSError:
        mem = 0
    return f"{cpu or platform.processor() or platform.machine()}, {os.cpu_count()} cores, {mem / 2**20:.1f} GiB"
