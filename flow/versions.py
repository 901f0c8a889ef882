"""Versions of every tool a result depends on, recorded with each result and hashed into cache keys."""
from __future__ import annotations

import functools
import subprocess
from importlib import metadata

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
