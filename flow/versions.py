"""Versions of every tool a result depends on, recorded with each result and hashed into cache keys."""
from __future__ import annotations

import functools
import hashlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PYTHON_PACKAGES = ("pyosys", "siliconcompiler", "lambdapdk", "cocotb", "migen", "numpy")
DEBIAN_PACKAGES = ("iverilog", "opensta", "graywolf", "qrouter", "qflow")
# The code a result comes from: the flow, the RTL generator, the model (golden model, quantization), the config
# schema.
CODE_ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("flow", "rtl_gen", "kan", "config_schema")
CODE_SUFFIXES = (".py", ".ys", ".tcl", ".par", ".sh", ".v")   # .v: flow/fpga/mult18x18d_sim.v


@functools.cache
def code_hash() -> str:
    """sha256 of this project's sources and tool templates (CODE_DIRS). It is part of every cache key (SiliconCompiler
    node settings, sweep points, hardened macros) in place of hand-bumped versions: editing the code that produced
    a result reruns it."""
    h = hashlib.sha256()
    for path in sorted(p for d in CODE_DIRS for p in (CODE_ROOT / d).rglob("*")
                       if p.suffix in CODE_SUFFIXES and "__pycache__" not in p.parts and p.is_file()):
        h.update(path.relative_to(CODE_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


@functools.cache
def tool_versions() -> dict[str, str]:
    """{tool: version}; a missing tool is recorded as 'missing', never guessed. kan_dse_code is code_hash()."""
    versions = {"kan_dse_code": code_hash()}
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


def tool_label(package: str, program: str | None = None) -> str:
    """A metric's tool as recorded by tool_versions(): 'qrouter 1.4.71-2', or with `program` one of the package's
    programs: 'blifFanout (qflow 1.3.17+dfsg.1-3+b1)'."""
    label = f"{package} {tool_versions().get(package, 'not recorded')}"
    return f"{program} ({label})" if program else label


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
