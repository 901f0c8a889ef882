"""Every number the flow reports carries its unit and where it came from (tool + file); and the names it goes by.

Names say what a number is, never its unit: the unit is the Metric's (`place_cell_area` [um^2], `route_wirelength`
[um], `place_runtime_graywolf` [s]). A step's own numbers carry the step's name as a prefix: synthesis none
(cell_area, cells, registers), place_*, route_*, preroute_*/postroute_* (timing), tiled_* (the tiled flow's whole
array), array_* (its array-level nets), macro_*, power_*. The headline numbers a run is summarized and compared by
(HEADLINE: cell_area, die_area, wns, fmax, ...) are chosen from those by `headline()`, for flat and tiled runs alike.

Runs stored before a rename keep their names on disk (metrics.json, sweep points): RENAMED maps them to today's
names, and `current_names` is the one place that applies it, when a report reads them.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Metric:
    value: float | int | str | bool | None
    unit: str          # "um^2", "MHz", "ns", "s", "MB", "cells", "" for plain counts/flags
    tool: str          # "yosys 0.70", "opensta 2.0.17", "qrouter 1.4.71-2", "flow"
    source: str        # file the value was parsed from (log or report), relative to the run folder

    def as_dict(self) -> dict:
        return asdict(self)


Metrics = dict[str, Metric]

# Headline metric <- the step metrics it is copied from, the first one a run has wins. Timing (TIMING) is chosen
# by stage instead: post-route where routed with parasitics, else pre-route.
HEADLINE = {
    "cell_area": ("tiled_cell_area",),        # tiled: each macro's synthesis x its instances + the glue
    "cells": ("tiled_cells",),                # tiled: the macros' placed cells x instances + the glue
    "core_area": ("place_core_area",),
    "die_area": ("tiled_die_area", "place_die_area"),
    "utilization": ("place_utilization",),
    "wirelength": ("tiled_wirelength", "route_wirelength"),     # tiled: the array-level nets only
    "failed_nets": ("tiled_failed_nets", "route_failed_nets"),
}
TIMING = ("wns", "tns", "fmax")
TIMING_STAGES = ("postroute", "preroute")
# the names whose value a headline metric repeats (a report shows the headline name alone)
HEADLINE_SOURCES = frozenset(s for sources in HEADLINE.values() for s in sources)


def headline(metrics: Metrics) -> Metrics:
    """The headline metrics of a run's step metrics (a flat run's place_*/route_*, a tiled run's tiled_*), and its
    timing: post-route where routed with parasitics, else pre-route, the tool saying which. A post-route SPEF with
    no capacitance at all (asap7: no R/C in its tech LEF) times no wires: pre-route it is."""
    out = {}
    for name, sources in HEADLINE.items():
        found = next((s for s in sources if s in metrics), None)
        if found:
            out[name] = metrics[found]
    no_rc = "route_net_cap_total" in metrics and metrics["route_net_cap_total"].value == 0
    for stage in TIMING_STAGES:
        if f"{stage}_fmax" in metrics and not (stage == "postroute" and no_rc):
            why = "; post-route SPEF is all zeros (tech LEF without R/C)" if no_rc else ""
            for key in TIMING:
                m = metrics[f"{stage}_{key}"]
                out[key] = Metric(m.value, m.unit, f"{m.tool} [{stage}{why}]", m.source)
            break
    return out


# Old name -> today's name, for runs stored before the rename (their metrics.json and sweep points keep the old
# names). Before 2026-12 names carried their unit, the tiled flow also wrote unit-named copies of its headline
# numbers, and its array totals went straight under the headline names (those read as they are).
RENAMED = {
    "fmax_mhz": "fmax", "wns_ns": "wns", "tns_ns": "tns", "wirelength_um": "wirelength",
    "place_cell_area_um2": "place_cell_area", "place_core_area_um2": "place_core_area",
    "place_die_area_um2": "place_die_area", "route_wirelength_um": "route_wirelength",
    "route_net_cap_total_pf": "route_net_cap_total", "glue_cell_area_um2": "glue_cell_area",
    "array_net_cap_total_pf": "array_net_cap_total", "array_wire_cap_pf": "array_wire_cap",
    "place_runtime_s": "place_runtime", "route_runtime_s": "route_runtime",
    "place_cpu_s": "place_cpu_time", "route_cpu_s": "route_cpu_time",
    "power_vcd_mb": "power_vcd_size", "window_seconds": "window_runtime", "bitstream_bytes": "bitstream_size",
}
# name patterns: per tool run times and per layer wirelengths
RENAMED_PATTERNS = ((re.compile(r"^(place|route)_runtime_s_(\w+)$"), r"\1_runtime_\2"),
                    (re.compile(r"^route_wirelength_um_(\w+)$"), r"route_wirelength_\1"))


def current_name(name: str) -> str:
    """Today's name of a metric stored under `name` (RENAMED)."""
    if name in RENAMED:
        return RENAMED[name]
    for pattern, new in RENAMED_PATTERNS:
        if pattern.match(name):
            return pattern.sub(new, name)
    return name


def current_names(metrics: dict) -> dict:
    """A stored {name: metric} under today's names; where a run stored a value under both an old and today's name
    (the old unit-named copies), today's stays."""
    out = {}
    for name, m in metrics.items():
        new = current_name(name)
        if new == name or new not in metrics:
            out[new] = m
    return out
