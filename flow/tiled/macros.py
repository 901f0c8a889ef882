"""Hardened macros of the tiled flow: the pin plans of kan_bspline and kan_pe, and harden(), which synthesizes,
places, pins and routes one macro, or takes it from the macro cache (build/.cache/macros/<key>/).

The cache key is the module's Verilog, the PDK's liberty, the pin plan, synthesis options and tool versions (with
code_hash); a macro is built in a temporary folder and renamed into place when complete, one builder per key."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rtl_gen.params import KanParams

from ..config import Config
from ..errors import RouteIncomplete
from ..metrics import Metric
from ..pdks import PdkInfo
from ..tools import qflow_pnr
from ..tools.lefdef import def_tracks, port_fanouts, port_stages, read_def
from ..tools.liberty import CACHE, stage_cells
from ..tools.macro import Abstract, MacroPins, PlacedPin, edge_keepouts, place_edge_pins, write_lef
from ..tools.yosys_synth import synthesize
from ..versions import tool_versions
from .rtl import bits, module_text, port_directions

# macro route retries (see route_tries); a change here changes hardened macros (and their key: code_hash)
MACRO_SPARSE_DENSITY = 0.7
MACRO_SPARSE_MAX_FAILED = 0.05    # of the nets
MACRO_RELIEF_DENSITY = 0.3


# ---------------------------------------------------------------- pin plans

def bspline_pins(p: KanParams) -> MacroPins:
    """kan_bspline: x from the west, m/basis to the east, spread over the edges (the PE lines up with them)."""
    east = bits("m", p.interval_bits) + [b for j in range(p.n_active) for b in bits(f"basis_{j}", p.table_bits)]
    west = bits("x", p.input_bits)
    n = max(len(west), len(east))
    rows = [(west[k] if k < len(west) else None, east[k] if k < len(east) else None) for k in range(n)]
    return MacroPins(rows=rows, cols=[("sys_clk", None), ("sys_rst", None)])


def pe_pins(p: KanParams, bs: Abstract) -> MacroPins:
    """kan_pe: m/basis west->east at exactly the y of the B-spline unit's matching east pins (the unit is hardened
    first: it is the smaller macro, and a die is cheaper to stretch for pins in the bigger one), psum/load
    north->south, load_en/sys_clk/sys_rst broadcast from the north."""
    west = bits("m_in", p.interval_bits) + [b for j in range(p.n_active) for b in bits(f"basis_in_{j}", p.table_bits)]
    east = [w.replace("_in", "_out") for w in west]
    north = bits("psum_in", p.acc_width) + bits("load_in", p.coef_bits)
    south = [n.replace("_in", "_out") for n in north]
    return MacroPins(rows=list(zip(west, east)),
                     cols=list(zip(north, south)) + [("load_en", None), ("sys_clk", None), ("sys_rst", None)],
                     row_y=[bs.pins[w.replace("_in", "")].y for w in west])


# ---------------------------------------------------------------- the macro cache

def harden(module: str, plan: MacroPins, cfg: Config, pdk: PdkInfo, liberty: Path, rtl_text: str,
           free_layers: tuple[str, ...]) -> tuple[Abstract, dict, bool]:
    """Synthesize, place, pin and route one macro (or take it from the cache). -> (abstract, info, cache hit);
    info holds the macro's netlist, spef, def, log paths and metrics."""
    text = module_text(rtl_text, module)
    key_data = {"module": text, "pdk": pdk.name, "liberty": liberty.name, "plan": asdict(plan),
                "clock": cfg.flow.clock_period_ns, "strategy": cfg.flow.synth_strategy, "booth": cfg.flow.booth,
                "free_layers": free_layers, "versions": tool_versions()}
    key = hashlib.sha256(json.dumps(key_data, sort_keys=True, default=str).encode()).hexdigest()[:20]
    final = CACHE / "macros" / key
    final.parent.mkdir(parents=True, exist_ok=True)
    # one builder per macro: sweep points sharing a PE variant (2x2 and 4x4) wait for it instead of building it twice
    with open(CACHE / "macros" / f".{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        hit = _cache_entry(final / "macro.json") is not None
        if not hit:
            _build_into_cache(module, plan, cfg, pdk, liberty, text, free_layers, key, key_data, final)
    return (*_load_macro(module, final, liberty), hit)


def _build_into_cache(module: str, plan: MacroPins, cfg: Config, pdk: PdkInfo, liberty: Path, text: str,
                      free_layers: tuple[str, ...], key: str, key_data: dict, final: Path) -> None:
    """Build the macro of `key` in a work folder and rename it to `final` (called under the key's lock)."""
    # A route that fails after every try fails again for the same key (the tools are deterministic): the failure
    # is kept beside the cache with its work folder, so the next point needing the macro (the 4x4 after the 2x2)
    # fails at once with the same message instead of spending the same minutes. Delete the folder to rebuild.
    failed = CACHE / "macros" / f"{key}.failed"
    f = _cache_entry(failed / "failure.json")
    if f is not None:
        raise RouteIncomplete(f"macro {module} route (cached failure: delete {failed} to build it again)",
                              f["log"], f["failed"], f["total"])
    # under the lock no one else builds this key: work folders left by killed builders of it go too
    for stale in (CACHE / "macros").glob(f".tmp-{key}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = CACHE / "macros" / f".tmp-{key}-{os.getpid()}"
    tmp.mkdir(parents=True)
    (tmp / "key.json").write_text(json.dumps(key_data, indent=1, sort_keys=True, default=str))
    try:
        build_macro(module, plan, cfg, pdk, liberty, text, free_layers, tmp, final)
    except RouteIncomplete as exc:
        shutil.rmtree(failed, ignore_errors=True)
        tmp.rename(failed)
        log = exc.log.replace(str(tmp), str(failed))
        (failed / "failure.json").write_text(json.dumps({"log": log, "failed": exc.failed, "total": exc.total}))
        raise RouteIncomplete(f"macro {module} route", log, exc.failed, exc.total) from None
    tmp.rename(final)


def _load_macro(module: str, final: Path, liberty: Path) -> tuple[Abstract, dict]:
    """The abstract and info (paths made absolute, metrics as Metric) of a finished cache entry."""
    info = json.loads((final / "macro.json").read_text())
    a = info["abstract"]
    abstract = Abstract(module, final / "macro.lef", a["units"], tuple(a["die"]),
                        {n: PlacedPin(**p) for n, p in a["pins"].items()}, port_fanouts(final / "macro.def"),
                        {(d, l): tuple(v) for d, l, v in a["tracks"]},
                        port_stages(final / "macro.def", stage_cells(liberty)))
    info["metrics"] = {k: Metric(**m) for k, m in info["metrics"].items()}
    for k in ("netlist", "spef", "def", "place_log", "route_log"):
        info[k] = final / info[k]
    return abstract, info


def _cache_entry(path: Path) -> dict | None:
    """The JSON of a macro cache entry (macro.json, failure.json), or None where there is none. An unreadable one
    (cut short, edited) is reported and its folder deleted: the macro is built again, never a crash."""
    try:
        data = json.loads(path.read_bytes().decode())
        if isinstance(data, dict):
            return data
        problem = "not a JSON object"
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = f"{type(exc).__name__}: {str(exc)[:80]}"
    print(f"warning: macro cache entry {path} is unreadable ({problem}): deleting {path.parent}, building it again")
    shutil.rmtree(path.parent, ignore_errors=True)
    return None


# ---------------------------------------------------------------- building one macro

@dataclass
class MacroRoute:
    """The try that routed a macro: its placement, edge pins and route, and what the tries cost."""
    placed: qflow_pnr.PlaceResult
    pins: dict[str, PlacedPin]
    routed: qflow_pnr.RouteResult
    tries: int
    relief: bool
    place_s: float
    route_s: float


def build_macro(module: str, plan: MacroPins, cfg: Config, pdk: PdkInfo, liberty: Path, text: str,
                free_layers: tuple[str, ...], work: Path, final: Path) -> None:
    """Synthesize, place, pin and route `module` in `work`; its files and macro.json are written there, with
    sources named under `final` (where the cache entry will be)."""
    t0 = time.perf_counter()
    rtl = work / f"{module}.v"
    rtl.write_text(text + "\n")
    syn = synthesize(rtl, module, pdk, liberty, work / "synth", cfg.flow.clock_period_ns, cfg.flow.synth_strategy,
                     cfg.flow.booth)
    synth_s = time.perf_counter() - t0
    r = route_tries(syn.netlist, module, plan, pdk, liberty, free_layers, work)
    for src, dst in ((r.routed.netlist, "macro.v"), (r.routed.spef, "macro.spef"), (r.routed.def_path, "macro.def")):
        shutil.copy(src, work / dst)
    abstract = write_lef(work / "macro.def", module, r.pins, port_directions(text), pdk.layers, work / "macro.lef",
                         free_layers)
    _write_macro_json(work, final, r, abstract, _macro_metrics(syn.metrics, r, abstract, synth_s))


def route_tries(netlist: Path, module: str, plan: MacroPins, pdk: PdkInfo, liberty: Path,
                free_layers: tuple[str, ...], work: Path) -> MacroRoute:
    """Place and route until the macro routes: at the PDK's density (pnr/), sparser (pnr-sparse/), with relief
    (pnr-relief/); RouteIncomplete if relief fails too."""
    # A macro whose route leaves a few nets open (PEs: 34-60 of ~2,000-2,600 on sky130hd) is placed once more at
    # MACRO_SPARSE_DENSITY times the density, otherwise unchanged: the 8-bit 4x4 PE then routes with a 1.4x die
    # instead of relief's 3.2x (which cost a third of its fmax). Dense random logic routes only with relief: the
    # 16-bit B-spline table (4 x 16 bits of 256-entry ROM) left 459 of 1681 nets unrouted at density 0.5 on
    # sky130hd, 103 at 0.2, and 0 at 0.15 without fanout buffering (gf180mcu: 17 failed nets at 0.75, 0.45 and 0.27
    # on 4 layers). Relief, the last try (straight away when more than MACRO_SPARSE_MAX_FAILED of the nets failed):
    # MACRO_RELIEF_DENSITY times the density, unbuffered, on every routing layer.
    base, density, relief, tries, place_s, route_s = None, None, False, 0, 0.0, 0.0
    while True:
        tries += 1
        t = time.perf_counter()
        folder = "pnr" if tries == 1 else "pnr-relief" if relief else "pnr-sparse"
        placed, pins, obstructions = place_macro(netlist, module, plan, pdk, liberty, free_layers,
                                                 work / folder, density, relief=relief)
        place_s += time.perf_counter() - t
        t = time.perf_counter()
        try:
            routed = qflow_pnr.route(placed, pdk, placed.work, obstructions=obstructions)
            break
        except RouteIncomplete as exc:
            if relief:
                raise
            base = base or placed.metrics["density"].value
            if tries == 1 and exc.failed <= MACRO_SPARSE_MAX_FAILED * exc.total:
                density = base * MACRO_SPARSE_DENSITY
            else:
                relief, density = True, max(0.1, base * MACRO_RELIEF_DENSITY)
        finally:
            route_s += time.perf_counter() - t
    return MacroRoute(placed, pins, routed, tries, relief, place_s, route_s)


def place_macro(netlist: Path, module: str, plan: MacroPins, pdk: PdkInfo, liberty: Path,
                free_layers: tuple[str, ...], pnr: Path, density: float | None, relief: bool):
    """-> (placement, edge pins, qrouter obstructions): the die stretched to the plan's highest fixed pin row."""
    for _ in range(3):
        placed = qflow_pnr.place(netlist, module, pdk, liberty, pnr, density=density, relief=relief)
        shortfall = _height_shortfall(placed.def_path, plan, pdk)
        if shortfall is None:
            break
        # Pins lined up with another macro's (the PE's with the B-spline unit's) need the die to reach the top
        # one; qflow sizes a square die from the cell area and the density, so lower the density to match
        # (place_edge_pins names the macro if even the lowest density is too short).
        density = max(0.1, (density or pdk.pnr.density) * shortfall ** 2 * 0.95)
    pins = place_edge_pins(placed.def_path, module, plan, pdk.layers)
    return placed, pins, _obstructions(placed.def_path, pins, pdk, free_layers)


def _obstructions(def_path: Path, pins: dict[str, PlacedPin], pdk: PdkInfo, free_layers: tuple[str, ...]
                  ) -> list[str]:
    """The macro's wires stay inside its die (a frame of obstructions half a micron outside it on every layer)
    and off `free_layers` (the array router may cross the macro there), and keep clear of its edge pins."""
    layout = read_def(def_path)
    x0, y0, x1, y1 = (v / layout.units for v in layout.die)
    frame = [(x0 - 5, y0 - 5, x0 - 0.5, y1 + 5), (x1 + 0.5, y0 - 5, x1 + 5, y1 + 5),
             (x0 - 5, y0 - 5, x1 + 5, y0 - 0.5), (x0 - 5, y1 + 0.5, x1 + 5, y1 + 5)]
    obstructions = [f"obstruction {a:g} {b:g} {c:g} {d:g} {layer}"
                    for layer in pdk.layers.routing for a, b, c, d in frame]
    obstructions += [f"obstruction {x0 - 1:g} {y0 - 1:g} {x1 + 1:g} {y1 + 1:g} {layer}" for layer in free_layers]
    obstructions += edge_keepouts(def_path, pins, pdk.layers, [f for f in (pdk.tech_lef, pdk.cell_lef) if f])
    return obstructions


def _height_shortfall(def_path: Path, plan: MacroPins, pdk: PdkInfo) -> float | None:
    """None if the placed die reaches the plan's highest fixed pin row (plus 4 tracks), else the ratio of the
    die's height to the height it needs."""
    if not plan.row_y:
        return None
    _, y0, _, y1 = read_def(def_path).die
    step = def_tracks(Path(def_path).read_text())[("Y", pdk.layers.pin_h)][2]
    need = max(plan.row_y) + 4 * step
    return None if y1 >= need else (y1 - y0) / (need - y0)


def _macro_metrics(synth: dict[str, Metric], r: MacroRoute, abstract: Abstract, synth_s: float) -> dict[str, Metric]:
    """The macro's synthesis, placement and route metrics, sources relative to its cache folder."""
    m = {"synth_cell_area": synth["cell_area"], "synth_cells": synth["cells"]}
    # qflow_pnr's sources are relative to its work folder (pnr/, pnr-sparse/ or pnr-relief/)
    m.update({f"place_{k}": Metric(v.value, v.unit, v.tool, f"{r.placed.work.name}/{v.source}")
              for k, v in r.placed.metrics.items()})
    m.update({f"route_{k}": Metric(v.value, v.unit, v.tool, f"{r.placed.work.name}/{v.source}")
              for k, v in r.routed.metrics.items()})
    m["place_tries"] = Metric(r.tries, "", "flow", "")
    m["place_relief"] = Metric(r.relief, "", "flow (last try at relief density, unbuffered, every layer)", "")
    m["runtime_synth"] = Metric(round(synth_s, 2), "s", "flow", "")
    m["runtime_place"] = Metric(round(r.place_s, 2), "s", "flow", "")
    m["runtime_route"] = Metric(round(r.route_s, 2), "s", "flow", "")
    m["lef_die_area"] = Metric(round(abstract.width * abstract.height / abstract.units ** 2, 3), "um^2",
                               "flow (macro LEF SIZE)", "macro.lef")
    return m


def _write_macro_json(work: Path, final: Path, r: MacroRoute, abstract: Abstract, m: dict[str, Metric]) -> None:
    """macro.json: the cache entry's files, abstract and metrics (sources under `final`)."""
    src = str(final)
    (work / "macro.json").write_text(json.dumps({
        "netlist": "macro.v", "spef": "macro.spef", "def": "macro.def",
        "place_log": str(r.placed.log.relative_to(work)), "route_log": str(r.routed.log.relative_to(work)),
        "abstract": {"units": abstract.units, "die": abstract.die,
                     "pins": {n: asdict(p) for n, p in abstract.pins.items()},
                     "tracks": [[d, l, v] for (d, l), v in sorted(abstract.tracks.items())]},
        "metrics": {k: Metric(v.value, v.unit, v.tool, f"{src}/{v.source}" if v.source else src).as_dict()
                    for k, v in m.items()}}, indent=1))
