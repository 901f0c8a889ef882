"""Routing of the array level: the array DEF (macros FIXED, glue PLACED, I/O pins) with the macros' LEFs.

Nets are routed in windows of 2x2, 4x4, 8x8 PE pitches (flow.tools.window_route: a net that fails in its window
is routed there again with the window's own nets), long nets in pieces per tile, nets no window holds with
fewer pins (the buffer trees' top nets) each in its own region, then full-die runs for each long net's spine
and for the nets left, if any (WindowedRoute); qflow_pnr.route on the whole die if that fails, up to
FALLBACK_MAX_MACROS macros."""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import RouteIncomplete, ToolFailed
from ..metrics import Metric, Metrics
from ..pdks import PdkInfo
from ..tools import floorplan as fp
from ..tools import qflow_pnr, window_route
from ..tools.lefdef import routes_of, routing_layers, specials_of
from ..versions import tool_label

WINDOW_HALO_UM = 24.0      # room around a net's pins that its routing window must hold (window_route.py)
WINDOW_REPAIRS = 3         # full-die reruns that take window nets in a short on the grid back
SPINE_HOLE_UM = 3.0        # around the pin where a long net's spine meets one of its pieces
FALLBACK_MAX_MACROS = 80   # above this (8x8 + its 8 B-spline units) a failed window route is not routed again on
                           # the whole die: that costs nets x die area (8x8: 510 s; 16x16 extrapolates to hours)


def route_array(top_def: Path, top_v: Path, lefs: list[Path], nets: dict, pdk: PdkInfo, liberty: Path,
                work: Path, plan: fp.Floorplan | None = None, cell: tuple[int, int] | None = None):
    """qflow_pnr.route on the array DEF with the macros' LEFs; with `plan`, the array is routed in windows of
    `cell`s first (window_route.py) and full-die runs route the rest (WindowedRoute). A failed
    net that ends on a macro pin fails with the macro, pin and instance named (an unreachable pin is never a
    silent partial route)."""
    work.mkdir(parents=True, exist_ok=True)
    stats = None
    if plan is not None:
        routed, stats = WindowedRoute(plan, top_v, lefs, nets, pdk, work, cell).run()
        if isinstance(routed, qflow_pnr.RouteResult):
            return routed
        if len(plan.macro_insts()) > FALLBACK_MAX_MACROS:
            raise ToolFailed(routed.step, routed.log, f"{routed.detail}; a full-die route of more than "
                             f"{FALLBACK_MAX_MACROS} macros is not tried (hours)")
    placed = qflow_pnr.PlaceResult(def_path=top_def, netlist=top_v, metrics={}, log=work / "place.log",
                                   work=work, liberty=liberty, top="kan_array")
    try:
        routed = qflow_pnr.route(placed, pdk, work, extra_lefs=lefs, obstructions=plan.obstructions() if plan else ())
        if stats is not None:
            routed.metrics.update(_window_metrics(stats, fallback=True))
        return routed
    except ToolFailed as exc:
        named = _unreachable_macro_pins(exc, lefs, top_def, nets)
        if named is None:
            raise
        raise named from None


def _unreachable_macro_pins(exc: ToolFailed, lefs: list[Path], top_def: Path, nets: dict) -> ToolFailed | None:
    """The failure of a full-die route restated with the macro pins its failed nets end on, or None if none do."""
    log = Path(exc.log)
    text = log.read_text(errors="replace") if log.exists() else ""
    failed = sorted(set(re.findall(r"^(?:Failed to route net|Failure on net) (\S+?):?\s", text, re.M)))
    macros = {re.search(r"^MACRO (\S+)", Path(lef).read_text(), re.M).group(1) for lef in lefs}
    comps = dict(re.findall(r"^-\s+(\S+)\s+(\S+)\s+\+", top_def.read_text(), re.M))
    on_macro = [(comps[i], p, i, n) for n in failed for i, p in nets.get(n, []) if comps.get(i) in macros]
    if not on_macro:
        return None
    desc = "; ".join(f"macro {m} pin {p} (instance {i}, net {n})" for m, p, i, n in on_macro[:4])
    return ToolFailed("array route (qrouter)", str(log), f"{len(failed)} nets failed, unreachable: {desc}"
                      + (f" and {len(on_macro) - 4} more" if len(on_macro) > 4 else ""))


class WindowedRoute:
    """window_route.preroute, then full-die qrouter runs: one per long net routed in pieces (its spine), then one
    for the nets left over (those that failed in their window), if any, with every route so far in its DEF as a
    FIXED special net (qrouter's fixed obstructions). A pin's own via can still land through such a wire when it
    is right over the pin, so the merged routes are checked for shorts on the grid, and the window nets in one
    are routed again in the last run (at most WINDOW_REPAIRS times).

    A long net routed in pieces: a full-die run routes its spine (the pins no piece holds and the first pin of
    each piece, its way in) with the pieces' wires as obstructions; spine and pieces together are the net."""

    def __init__(self, plan: fp.Floorplan, top_v: Path, lefs: list[Path], nets: dict, pdk: PdkInfo, work: Path,
                 cell: tuple[int, int]):
        self.plan, self.top_v, self.lefs, self.nets, self.pdk, self.work, self.cell = \
            plan, top_v, lefs, nets, pdk, work, cell
        self.layers, self.vias = routing_layers([f for f in (pdk.tech_lef, pdk.cell_lef) if f])
        self.pitch = (min(st for d, _, st, _ in plan.tracks if d == "X"),
                      min(st for d, _, st, _ in plan.tracks if d == "Y"))
        self.hole = int(SPINE_HOLE_UM * plan.units)
        # filled by the window runs (_preroute)
        self.windowed: dict[str, str] = {}         # net -> its window route, while it stays one
        self.parts: dict[str, list] = {}           # long net -> [(piece's connections, its wires)]
        self.specials: dict[str, str] = {}         # net -> the window runs' pin patches
        self.stats: window_route.WindowStats | None = None
        self.piece_wires: dict[str, str] = {}      # long net -> all its pieces' wires
        # each long net's spine connections, way-in points and pieces' wires with holes (plan_spine)
        self.spine: dict[str, list] = {}
        self.way_in: dict[str, list] = {}
        self.piece_walls: dict[str, str] = {}
        # the routes so far, and their pin patches (SPECIALNETS)
        self.routes: dict[str, str] = {}
        self.patches: dict[str, str] = {}
        self.repaired: set[str] = set()            # window nets in a short, routed again by the full-die run
        self.full_die_runs = 0

    def run(self) -> tuple[qflow_pnr.RouteResult | ToolFailed, window_route.WindowStats]:
        """-> (the RouteResult of the merged DEF, or the failure when a full-die run left nets open or shorts
        remain: the caller then routes everything again without the windows; the window stats)."""
        self._preroute()
        work = self.work
        try:
            # one full-die run per long net (its spine; its pieces' wires with the holes): a hole is open to every
            # net of its run, so its own net is the only one routed there. Then one run for the nets left, again
            # with the window nets in a short on the grid. A spine's via can still land on its way-in pin through
            # another net's wire lying over it (8x8: the clock under load enable): that piece then gets its next
            # pin as the way in, and the spine is routed again
            folder = {n: work / f"spine_{i}" for i, n in enumerate(sorted(self.parts))}
            spines = sorted(self.parts)
            for _ in range(WINDOW_REPAIRS + 1):
                for n in spines:
                    self.full_die(folder[n], {n: self.spine[n]})
                left = {n: c for n, c in self.nets.items() if n not in self.windowed and n not in self.parts}
                if left:
                    self.full_die(work, left)
                merged, shorts = self._merge()
                if not shorts:
                    return self._result(merged), self.stats
                again = {n for s in shorts for n in s[3:] if n in self.windowed}
                spines = self._next_way_ins(shorts)
                if not again and not spines:
                    break
                for n in spines:
                    self.plan_spine(n)
                self.repaired |= again
                self.windowed = {n: r for n, r in self.windowed.items() if n not in again}
        except ToolFailed as exc:   # nets left open (RouteIncomplete) or qrouter crashed: route it all again
            failure = exc
        else:
            failure = ToolFailed("array route (windows + full die)", str(work / "window_shorts.txt"),
                                 f"{len(shorts)} grid points shorted after {WINDOW_REPAIRS} repairs")
        if (work / "route.log").exists():
            (work / "route.log").replace(work / "route_windowed.log")
            failure.log = failure.log.replace(str(work / "route.log"), str(work / "route_windowed.log"))
        return failure, self.stats

    def _preroute(self) -> None:
        """The window runs (window_route.preroute), and the spine plan of every long net they routed in pieces."""
        self.windowed, self.parts, self.specials, self.stats = window_route.preroute(
            self.plan, self.nets, self.pdk, self.lefs, self.work / "windows", self.cell,
            halo=int(WINDOW_HALO_UM * self.plan.units))
        self.piece_wires = {n: "\n  NEW ".join(r for _, r in p) for n, p in self.parts.items()}
        for n in self.parts:
            self.plan_spine(n)
        self.routes = dict(self.windowed)
        self.patches = {n: r for n, r in self.specials.items() if n in self.windowed or n in self.parts}

    def plan_spine(self, n: str) -> None:
        """spine[n], way_in[n] (the way-in pins' points) and piece_walls[n]: the pieces' wires with a hole around
        each way in, which the piece's own wires surround (spine and piece are one net: they may meet there)."""
        parts, hole = self.parts[n], self.hole
        self.spine[n] = [c[0] for c, _ in parts] + [c for c in self.nets[n]
                                                    if c not in {x for cs, _ in parts for x in cs}]
        self.way_in[n] = window_route.conn_rects(self.plan, {n: [c[0] for c, _ in parts]})[n]
        self.piece_walls[n] = "\n  NEW ".join(filter(None, (
            window_route.cut(r, (x0 - hole, y0 - hole, x1 + hole, y1 + hole))
            for (_, r), (x0, y0, x1, y1) in zip(parts, self.way_in[n]))))

    def full_die(self, folder: Path, group: dict) -> None:
        """One qrouter run on the whole die for `group`, every other route so far an obstruction; its routes
        and pin patches go into `routes` and `patches`."""
        folder.mkdir(exist_ok=True)
        self.full_die_runs += 1
        routes, patches, parts = self.routes, self.patches, self.parts
        for n in group:
            routes.pop(n, None)
            if n in parts:
                patches[n] = self.specials.get(n)      # the pieces' own
            else:
                patches.pop(n, None)
        walls = {**routes, **{f"{n} pieces": (self.piece_walls if n in group else self.piece_wires)[n]
                              for n in parts if n not in routes}}
        # the nets of later runs come in unrouted, ignored: qrouter keeps their pins free (window_route.preroute)
        later = {n: self.spine.get(n, c) for n, c in self.nets.items() if n not in routes and n not in group}
        left = fp.write_def(folder / "kan_array_left.def", self.plan, {**later, **group}, "kan_array",
                            routes={n: w for n, w in walls.items() if w})
        out, failed = qflow_pnr.route_only(left, self.pdk, folder, extra_lefs=self.lefs, ignore=sorted(later),
                                           obstructions=self.plan.obstructions())
        if failed:
            raise RouteIncomplete("array route (full die)", str(folder / "route.log"), len(failed), len(group))
        text = out.read_text()
        for n, r in routes_of(text).items():
            if n in group:
                routes[n] = "\n  NEW ".join(filter(None, (r, self.piece_wires.get(n))))
        for n, r in specials_of(text).items():
            if n in group:
                patches[n] = " NEW ".join(filter(None, (patches.get(n), r)))

    def _merge(self) -> tuple[Path, list]:
        """The merged routed DEF (every route so far, the pin patches as SPECIALNETS) and its shorts on the grid
        (also written to window_shorts.txt)."""
        merged = fp.write_def(self.work / "kan_array_routed.def", self.plan, self.nets, "kan_array",
                              routes=self.routes)
        window_route.add_specials(merged, {n: r for n, r in self.patches.items() if r})
        shorts = window_route.grid_conflicts(merged.read_text(), self.pitch, self.layers, self.vias)
        (self.work / "window_shorts.txt").write_text("".join(f"{s}\n" for s in shorts))
        return merged, shorts

    def _next_way_ins(self, shorts: list) -> list[str]:
        """The long nets whose spine shorts at one of its way-in pins: that piece's next pin becomes its way in.
        -> those nets (their spines are routed again)."""
        spines: list[str] = []
        hole = self.hole
        for _, x, y, *pair in shorts:
            for n in pair:
                k = next((k for k, (x0, y0, x1, y1) in enumerate(self.way_in.get(n, ()))
                          if x0 - hole <= x <= x1 + hole and y0 - hole <= y <= y1 + hole), None)
                if k is not None and n not in spines:
                    conns, wires = self.parts[n][k]
                    self.parts[n][k] = (conns[1:] + conns[:1], wires)
                    spines.append(n)
        return spines

    def _result(self, merged: Path) -> qflow_pnr.RouteResult:
        """The route of the merged DEF with no shorts left, and its metrics."""
        tool = f"{tool_label('qrouter')} (windows + {self.full_die_runs} full-die runs)"
        log = self.work / "route.log"
        if not log.exists():
            log.write_text("no full-die run: every net was routed in a window or its own region "
                           "(windows/w*/route.log)\n")
        metrics = {"failed_nets": Metric(0, "nets", tool, merged.name),
                   "routed_nets": Metric(len(self.nets), "nets", tool, merged.name),
                   **qflow_pnr.wiring_metrics(merged),
                   **_window_metrics(self.stats, len(self.windowed), len(self.repaired)),
                   "window_full_die_runs": Metric(self.full_die_runs, "qrouter runs", "flow.tiled: one per long "
                                                  "net's spine, then one for the nets left if any", "route"),
                   "window_grid_shorts": Metric(0, "points", "flow.tools.window_route.grid_conflicts",
                                                merged.name)}
        return qflow_pnr.RouteResult(def_path=merged, spef=None, netlist=self.top_v, metrics=metrics, log=log)


def _window_metrics(stats: window_route.WindowStats, kept: int = 0, repaired: int = 0,
                    fallback: bool = False) -> Metrics:
    tool = f"flow.tools.window_route + {tool_label('qrouter')}"
    return {"window_runs": Metric(stats.windows, "qrouter runs", tool, "route/windows"),
            "window_routed_nets": Metric(kept, "nets", tool + ": window routes in the final DEF", "route/windows"),
            "window_repaired_nets": Metric(repaired, "nets", tool + ": window routes in a short on the grid, "
                                           "routed again by the full-die run", "route/window_shorts.txt"),
            "window_unstuck_nets": Metric(stats.unstuck, "nets", tool + ": nets that failed in their window and "
                                          "were routed there again with the window's own nets", "route/windows"),
            "window_pieced_nets": Metric(stats.pieced, "nets", tool + ": long nets (clock, broadcasts) routed in "
                                         "pieces per window, joined by the full-die run", "route/windows"),
            "window_runtime": Metric(round(stats.seconds, 2), "s", tool, "route/windows"),
            "window_workers": Metric(stats.workers, "qrouter runs at once", tool + ": one per core available; the "
                                     "routes are the same whatever the count", "route/windows"),
            "window_fallback": Metric(int(fallback), "", tool + ": 1 = the full-die run left nets open or shorts "
                                      "remained, and everything was routed again without windows",
                                      "route/route_windowed.log")}
