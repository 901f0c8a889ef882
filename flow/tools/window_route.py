"""Windowed routing of the array level with qrouter: route the short nets a few at a time in small windows of
the die, the longer ones with few pins each in its own region, then the rest (the spines of clock, reset,
broadcasts) in full-die qrouter runs.

Why: qrouter's route_setup copies its whole obstruction grid (layers x die tracks) for every net it routes, so
the full-die route costs nets x die area, i.e. PEs^2 for an array (measured: 8x8 sky130hd, 3,462 nets,
0.15-0.2 s per net, 510 s). Nearly every array-level net joins neighbouring macros; in a window of 2x2 PE
pitches the same net costs a fraction of that, whatever the array size. qrouter takes the window as its die:
DIEAREA and TRACKS are the window's, components reaching outside it are clipped. The wires routed in earlier
windows come in, clipped to the window, as FIXED special nets: fixed obstructions that qrouter's rip-up cannot
remove (as regular nets without connections, stage2 ripped them up and never put them back); the full-die runs
get every window route that way. A pin's own via can still land through such a wire lying right over the pin,
so the caller checks the merged routes for shorts on the grid (grid_conflicts)
and routes the window nets in one again in the full-die run. A net that no 2x2 window holds goes to windows of
4x4, then 8x8 pitches. A net too long for any window with many pins (the clock, load enable, reset) is routed
in pieces, one per tile of the die, and a full-die run routes only its spine to one pin of each piece: for
qrouter the time of a net grows with its pins (16x16: a clock spine to 171 pins did not finish in 8 min, to 25
pins it took 61 s). A net too long for any window with fewer pins (the buffer trees' top nets) is routed alone in
its own region, its pins' box grown by the halo: a run's setup time and memory grow with its area, whatever it
routes (32x32: one full-die run took 15.5 GiB and 256 s for 6 tree nets whose regions are 3% to 35% of the die).
"""
from __future__ import annotations

import math
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from ..errors import ToolFailed
from . import floorplan as fp
from . import qflow_pnr
from .lefdef import route_elements, routes_of, specials_of

Box = tuple[int, int, int, int]       # x0, y0, x1, y1 in DEF units
PIECE_MIN_PINS = 8                    # a net too long for a window is routed in pieces from this many pins
FIRST_PIECE_PINS = 32                 # a piece this big is routed alone, before any window: in a full one
                                      # (the 16x16 clock in its deskew strip) it failed
WINDOW_PASSES = 2                     # masked rip-up passes in a window (then qrouter's unmasked one): what
                                      # still fails goes to the full-die runs
                                      # (16x16: a clock piece in the deskew strip failed after all 7 passes,
                                      # 128 s for that one window)
REPAIR_PASSES = 6                     # rip-up passes when a window's failed nets are routed again with its nets
REPAIR_MAX_CELLS = 4                  # windows at most this many grid cells across are repaired; a wider one's
                                      # failed nets go to the full-die run (16x16: an 8-cell window's repair took
                                      # 626 s; 32x32: one ran an hour without finishing)


@dataclass
class WindowStats:
    windows: int              # qrouter runs on windows
    pieced: int               # long nets whose pieces were routed in windows
    unstuck: int              # nets that failed in their window and were routed there again with its nets
    seconds: float
    workers: int = 1          # window runs at once


def conn_rects(plan: fp.Floorplan, nets: dict[str, list[tuple[str, str]]]) -> dict[str, list[Box]]:
    """Where each connection of each net is: macro pin and I/O pin points, glue cells' outlines."""
    out = {}
    for name, conns in nets.items():
        rects = []
        for inst, pin in conns:
            if inst == "PIN" or plan.insts[inst].macro:
                _, x, y = plan.pins[pin] if inst == "PIN" else fp.macro_pin_xy(plan.insts[inst], pin)
                rects.append((x, y, x, y))
            else:
                c = plan.insts[inst]
                rects.append((c.x, c.y, c.x + c.width, c.y + c.height))
        out[name] = rects
    return out


def _union(rects: list[Box]) -> Box:
    return min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects)


def pieces(nets: dict[str, list[tuple[str, str]]], rects: dict[str, list[Box]], tiles: list[Box]
           ) -> dict[int, dict[str, list[tuple[str, str]]]]:
    """{tile: {net: its connections there}} for nets too long for a window: each connection goes to the first
    of the (non-overlapping) tiles holding its centre; pieces of one connection are left out. The full-die run
    then routes a spine from the net's driver to the connections in no piece and the first of each piece
    (qrouter's own join of pre-routed pieces of a net re-routes most of it: measured, a 4x4 clock came out 2.2x
    longer). That first one is the spine's way in, so it is the one easiest to reach: a macro pin (on a
    macro's edge, in a channel) before a cell in a glue strip, then the nearest the tile's centre."""
    out: dict[int, dict[str, list]] = {}
    for name in sorted(nets):
        for conn, r in zip(nets[name], rects[name]):
            cx, cy = (r[0] + r[2]) // 2, (r[1] + r[3]) // 2
            k = next(i for i, w in enumerate(tiles) if w[0] <= cx <= w[2] and w[1] <= cy <= w[3])
            out.setdefault(k, {}).setdefault(name, []).append((conn, r))
    done: dict[int, dict[str, list]] = {}
    for k, by_net in out.items():
        cx, cy = (tiles[k][0] + tiles[k][2]) / 2, (tiles[k][1] + tiles[k][3]) / 2
        way_in = lambda cr: (cr[1][0] != cr[1][2], abs((cr[1][0] + cr[1][2]) / 2 - cx)
                             + abs((cr[1][1] + cr[1][3]) / 2 - cy))
        done[k] = {n: [c for c, _ in sorted(crs, key=way_in)] for n, crs in by_net.items() if len(crs) > 1}
    return done


def candidate_windows(die: Box, cell: tuple[int, int], span: int = 2, stride: int | None = None) -> list[Box]:
    """Windows of span x span grid cells at a stride of `stride` cells (default span / 2: neighbouring windows
    overlap by half), in rows from the bottom left, the last row and column clipped to the die; `cell` sizes
    are multiples of every track step, so each window is on the grid."""
    x0, y0, x1, y1 = die
    cx, cy = cell
    step = stride or max(1, span // 2)
    out = []
    for j in range(max(1, -(-(-(-(y1 - y0) // cy) - span) // step) + 1)):
        for i in range(max(1, -(-(-(-(x1 - x0) // cx) - span) // step) + 1)):
            out.append((x0 + i * step * cx, y0 + j * step * cy, min(x1, x0 + (i * step + span) * cx),
                        min(y1, y0 + (j * step + span) * cy)))
    return out


def region(die: Box, box: Box, halo: int, align: tuple[int, int]) -> Box:
    """`box` grown by `halo`, its edges moved out onto the grid of `align` steps from the die's corner, clipped
    to the die: the window of a net routed alone."""
    (ax, ay), (x0, y0) = align, die[:2]
    out = (x0 + (box[0] - halo - x0) // ax * ax, y0 + (box[1] - halo - y0) // ay * ay,
           x0 - (-(box[2] + halo - x0) // ax) * ax, y0 - (-(box[3] + halo - y0) // ay) * ay)
    return max(die[0], out[0]), max(die[1], out[1]), min(die[2], out[2]), min(die[3], out[3])


def spans(die: Box, cell: tuple[int, int]) -> list[int]:
    """Window sizes in grid cells, smallest first: 2, then doubling while the window stays at most half the
    die across (a bigger one costs about what the full-die run costs)."""
    cells = max(-(-(die[2] - die[0]) // cell[0]), -(-(die[3] - die[1]) // cell[1]))
    out = [2]
    while 4 * out[-1] <= cells:
        out.append(2 * out[-1])
    return out


def assign(boxes: dict[str, Box], windows: list[Box], halo: int) -> dict[int, list[str]]:
    """{window index: nets}: each net goes to the first window holding its box grown by `halo` (clipped to the
    die, i.e. the union of the windows); nets no window holds are left out (the full-die run routes them)."""
    die = (min(w[0] for w in windows), min(w[1] for w in windows), max(w[2] for w in windows),
           max(w[3] for w in windows))
    out: dict[int, list[str]] = {}
    for name in sorted(boxes):
        b = boxes[name]
        g = (max(die[0], b[0] - halo), max(die[1], b[1] - halo), min(die[2], b[2] + halo), min(die[3], b[3] + halo))
        for k, w in enumerate(windows):
            if _holds(w, g):
                out.setdefault(k, []).append(name)
                break
    return out


# ---------------------------------------------------------------- routes in DEF text (read by lefdef)

def clip(route: str, w: Box) -> str:
    """The parts of a route inside window `w`, as `+ ROUTED` text ('' if none)."""
    out = []
    for layer, width, pts, via in route_elements(route):
        wd = f"{width} " if width else ""
        for (ax, ay), (bx, by) in zip(pts, pts[1:]):
            lo_x, hi_x, lo_y, hi_y = max(min(ax, bx), w[0]), min(max(ax, bx), w[2]), max(min(ay, by), w[1]), \
                min(max(ay, by), w[3])
            if lo_x <= hi_x and lo_y <= hi_y and (lo_x, lo_y) != (hi_x, hi_y):
                out.append(f"{layer} {wd}( {lo_x} {lo_y} ) ( {hi_x} {hi_y} )")
        if via and pts and w[0] <= pts[-1][0] <= w[2] and w[1] <= pts[-1][1] <= w[3]:
            out.append(f"{layer} ( {pts[-1][0]} {pts[-1][1]} ) {via}")
    return "\n  NEW ".join(out)


def cut(route: str, box: Box) -> str:
    """A route without its parts inside `box` (the rest as `+ ROUTED` text, '' if none)."""
    out = []
    for layer, width, pts, via in route_elements(route):
        wd = f"{width} " if width else ""
        for (ax, ay), (bx, by) in zip(pts, pts[1:]):
            lo, hi = (min(ax, bx), max(ax, bx)) if ay == by else (min(ay, by), max(ay, by))
            fixed, (blo, bhi, flo, fhi) = (ay, (box[0], box[2], box[1], box[3])) if ay == by else \
                (ax, (box[1], box[3], box[0], box[2]))
            spans = [(lo, hi)] if not flo <= fixed <= fhi else [(lo, min(hi, blo - 1)), (max(lo, bhi + 1), hi)]
            for a, b in spans:
                if a < b:
                    out.append(f"{layer} {wd}( {a} {ay} ) ( {b} {by} )" if ay == by else
                               f"{layer} {wd}( {ax} {a} ) ( {bx} {b} )")
        inside = pts and box[0] <= pts[-1][0] <= box[2] and box[1] <= pts[-1][1] <= box[3]
        if via and pts and not inside:
            out.append(f"{layer} ( {pts[-1][0]} {pts[-1][1]} ) {via}")
    return "\n  NEW ".join(out)


def _bbox(route: str) -> Box:
    pts = [p for _, _, ps, _ in route_elements(route) for p in ps]
    return min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts)


def _holds(w: Box, b: Box) -> bool:
    """Box `b` lies wholly in window `w`."""
    return w[0] <= b[0] and w[1] <= b[1] and b[2] <= w[2] and b[3] <= w[3]


def overlaps(a: Box, b: Box) -> bool:
    """Boxes `a` and `b` share a point (touching counts: a wire on the common edge is in both)."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def window_order(jobs: dict[tuple[int, Box], dict]) -> list[tuple[int, Box]]:
    """The order windows are routed in: by level; within a level in classes of windows that do not touch each
    other (a greedy colouring, bottom row first: neighbours overlapping by half give 3 x 3 classes), so the
    windows of a class can be routed at once; bottom row first within a class."""
    rows = sorted(jobs, key=lambda lw: (lw[0], lw[1][1], lw[1][0]))
    colour: dict[tuple[int, Box], int] = {}
    for k, (level, w) in enumerate(rows):
        used = {colour[j] for j in rows[:k] if j[0] == level and overlaps(j[1], w)}
        colour[(level, w)] = min(set(range(len(used) + 1)) - used)
    return sorted(rows, key=lambda lw: (lw[0], colour[lw], lw[1][1], lw[1][0]))


# ---------------------------------------------------------------- the flow

def plan_jobs(die: Box, cell: tuple[int, int], nets: dict[str, list[tuple[str, str]]], rects: dict[str, list[Box]],
              halo: int, align: tuple[int, int]) -> tuple[dict[tuple[int, Box], dict[str, list]], set[str]]:
    """-> ({(level, window): {net: connections}}, long nets), routed by level: each net in the first window of
    the smallest size that holds it (levels 0, 1, ...); the pieces of long nets (no window holds them, at
    least PIECE_MIN_PINS pins) in their tile at level 0, pieces of FIRST_PIECE_PINS or more alone at level -1;
    a net no window holds with fewer pins (the buffer trees' top nets) alone in its own region, last.
    `align`: the track grid's x and y steps (their least common multiple) that window edges keep to."""
    jobs: dict[tuple[int, Box], dict[str, list]] = {}
    placed: set[str] = set()
    sizes = spans(die, cell)
    for level, span in enumerate(sizes):
        windows = candidate_windows(die, cell, span)
        for k, names in assign({n: _union(r) for n, r in rects.items() if n not in placed}, windows, halo).items():
            jobs[(level, windows[k])] = {n: nets[n] for n in names}
            placed.update(names)
    long = {n: c for n, c in nets.items() if n not in placed and len(c) >= PIECE_MIN_PINS}
    # a run costs time and memory by its area, not by its nets: the full die, where these went before, took
    # 15.5 GiB and 256 s at 32x32 for 6 tree nets whose regions are 3% to 35% of it
    for n in sorted(set(nets) - placed - set(long)):
        jobs.setdefault((len(sizes), region(die, _union(rects[n]), halo, align)), {})[n] = nets[n]
    tile = sizes[:2][-1]                     # 4x4 pitches where the die has room: fewer pieces to join
    tiles = candidate_windows(die, cell, tile, stride=tile)
    # a piece is routed in its tile grown by the halo (on the grid), so that a cell across the tile's edge is
    # in its window: its pin left to the spine was out of reach under the window routes around it
    for k, split in pieces(long, rects, tiles).items():
        box = region(die, tiles[k], halo, align)
        for n, conns in split.items():
            jobs.setdefault((-1 if len(conns) >= FIRST_PIECE_PINS else 0, box), {})[n] = conns
    return jobs, set(long)


def preroute(plan: fp.Floorplan, nets: dict[str, list[tuple[str, str]]], pdk, lefs: list[Path], work: Path,
             cell: tuple[int, int], halo: int, design: str = "kan_array"
             ) -> tuple[dict[str, str], dict[str, list], dict[str, str], WindowStats]:
    """Route the nets that fit a window, window by window, the pieces of the longer ones with at least
    PIECE_MIN_PINS pins, and the other longer ones each in its own region -> ({net: `+ ROUTED` text},
    {long net: [(piece's connections, its wires)]}, {net: SPECIALNETS text}, stats). A net that fails in its
    window is routed there once more together with the nets routed wholly inside it; what fails again is left
    to the full-die run (WindowRuns)."""
    t0 = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    runs = WindowRuns(plan, nets, pdk, lefs, work, design)
    workers = len(os.sched_getaffinity(0))          # one qrouter run per core this process may use
    runs.route_jobs(*plan_jobs(plan.die, cell, nets, runs.rects, halo, runs.align), workers=workers)
    repaired = runs.repair_stuck((REPAIR_MAX_CELLS * cell[0], REPAIR_MAX_CELLS * cell[1]))
    return runs.routed, runs.parts, runs.specials, WindowStats(runs.runs, len(runs.parts), repaired,
                                                               time.perf_counter() - t0, workers)


class WindowRuns:
    """The qrouter runs on windows of the die and what they routed so far: every window run gets the wires of
    the runs before it as fixed obstructions."""

    def __init__(self, plan: fp.Floorplan, nets: dict[str, list[tuple[str, str]]], pdk, lefs: list[Path],
                 work: Path, design: str = "kan_array"):
        self.plan, self.nets, self.pdk, self.lefs, self.work, self.design = plan, nets, pdk, lefs, work, design
        self.rects = conn_rects(plan, nets)
        # the track grid's x and y steps (their least common multiple) that window edges keep to
        self.align = tuple(math.lcm(*[st for d, _, st, _ in plan.tracks if d == xy]) for xy in "XY")
        self.routed: dict[str, str] = {}              # net -> `+ ROUTED` text (nets routed whole in a window)
        self.parts: dict[str, list] = {}              # long net -> [(piece's connections, its wires)]
        self.specials: dict[str, str] = {}            # net -> qrouter's pin patches (SPECIALNETS text)
        self.walls: dict[str, tuple[str, Box]] = {}   # every wire routed so far: {net or net@window: (route, box)}
        self.stuck: dict[Box, list[str]] = {}         # {window: its nets that failed there}
        self.runs = 0                                 # qrouter runs that finished

    def route_window(self, folder: Path, w: Box, todo: dict[str, list], passes: int) -> tuple[dict, dict] | None:
        """One qrouter run of `todo` in window `w`, every other wire so far a fixed obstruction there ->
        ({net: `+ ROUTED` text}, {net: pin patches}) of the nets it routed, or None if qrouter crashed."""
        return self.window_result(todo, self.run_window(*self.window_input(folder, w, todo), passes))

    def window_input(self, folder: Path, w: Box, todo: dict[str, list]) -> tuple[Path, Path, list[str], list[str]]:
        """The DEF of a window run (its nets `todo`, the wires so far clipped to it as fixed obstructions) ->
        (DEF, folder, the nets it holds only to keep their pins free, the floorplan's blockages in it)."""
        fixed = {n: c for n, (r, b) in self.walls.items() if n not in todo and overlaps(b, w) and (c := clip(r, w))}
        # the other unrouted nets' pins in the window come in as nets qrouter ignores: it then keeps them free
        # (a wire over a pin, left by a run that knew nothing of it, shorted the via a later run put there)
        pinned = {n: cs for n, c in self.nets.items() if n not in todo and n not in self.routed
                  and (cs := [x for x, r in zip(c, self.rects[n]) if _holds(w, r)])}
        folder.mkdir(exist_ok=True)
        placed_def = fp.write_def(folder / "window.def", self.plan, {**pinned, **todo}, self.design, window=w,
                                  routes=fixed)
        return placed_def, folder, sorted(pinned), self.plan.obstructions(w)

    def run_window(self, placed_def: Path, folder: Path, ignore: list[str], obstructions: list[str], passes: int
                   ) -> tuple[Path, list[str]] | None:
        """qrouter on a window's DEF (reads no state: runs of windows that do not overlap go at once) ->
        (routed DEF, failed nets), or None if qrouter crashed."""
        try:
            return qflow_pnr.route_only(placed_def, self.pdk, folder, extra_lefs=self.lefs, passes=passes,
                                        ignore=ignore, obstructions=obstructions)
        except ToolFailed:
            return None

    def window_result(self, todo: dict[str, list], run: tuple[Path, list[str]] | None) -> tuple[dict, dict] | None:
        """({net: `+ ROUTED` text}, {net: pin patches}) of the nets a window run routed, or None if it crashed."""
        if run is None:
            return None
        self.runs += 1
        out, failed = run
        text = out.read_text()
        got = {n: r for n, r in routes_of(text).items() if n in todo and n not in failed}
        return got, {n: r for n, r in specials_of(text).items() if n in got}

    def route_jobs(self, jobs: dict[tuple[int, Box], dict[str, list]], long: set[str], workers: int = 1) -> None:
        """Route plan_jobs' windows in window_order; a net that fails in its window is kept in `stuck` (a long
        net's piece is left to its spine). Up to `workers` qrouter runs at once, with the same result as one at
        a time: a window's run starts once every earlier window that touches it has been taken in, and results
        are taken in in window order (a window's input depends on the touching ones alone: their wires are its
        obstructions, and a net routed in another window has no pin in it)."""
        order, workers = window_order(jobs), max(1, workers)
        after = [max((j for j in range(k) if overlaps(order[j][1], w)), default=-1) for k, (_, w) in enumerate(order)]
        running: dict[int, Future] = {}
        done: dict[int, tuple[Path, list[str]] | None] = {}
        taken, started = 0, 0
        with ThreadPoolExecutor(workers) as pool:
            while taken < len(order):
                while started < len(order) and len(running) < workers and after[started] < taken:
                    level, w = order[started]
                    run_input = self.window_input(self.work / f"w{started:04d}", w, jobs[(level, w)])
                    running[started] = pool.submit(self.run_window, *run_input, WINDOW_PASSES)
                    started += 1
                if taken not in done:
                    finished, _ = wait(running.values(), return_when=FIRST_COMPLETED)
                    for k in [k for k, f in running.items() if f in finished]:
                        done[k] = running.pop(k).result()
                while taken in done:
                    self.take_window(order[taken], jobs[order[taken]], done.pop(taken), long, taken)
                    taken += 1

    def take_window(self, job: tuple[int, Box], todo: dict[str, list], run: tuple[Path, list[str]] | None,
                    long: set[str], k: int) -> None:
        """A window run's routes into the state; its failed nets into `stuck` (a long net's piece: to its spine);
        a crashed run leaves its nets to the full-die run."""
        result = self.window_result(todo, run)
        if result is None:
            return
        got, patches = result
        w = job[1]
        for n in todo:
            if n not in got:
                if n not in long:
                    self.stuck.setdefault(w, []).append(n)
                continue
            if n in long:
                self.parts.setdefault(n, []).append((todo[n], got[n]))
                self.walls[f"{n}@{k}"] = (got[n], _bbox(got[n]))
            else:
                self.routed[n] = got[n]
                self.walls[n] = (got[n], _bbox(got[n]))
            if n in patches:
                self.specials[n] = " NEW ".join(filter(None, (self.specials.get(n), patches[n])))

    def repair_stuck(self, largest: tuple[int, int]) -> int:
        """Route each window's failed nets once more with the nets routed wholly inside it, in windows at most
        `largest` (width, height) -> nets repaired.

        A net that failed in its window is boxed in by wires of windows routed before it (16x16: chains in the
        crowded skew strips, which the full-die run could not route either). It is routed once more in that window
        together with every net routed wholly inside it, which qrouter may then rip up and route again; the run
        counts only if it routes them all, else the earlier routes stay and the full-die run gets the net."""
        repaired = 0
        for k, (w, names) in enumerate(sorted(self.stuck.items(), key=lambda wn: (wn[0][1], wn[0][0]))):
            if w[2] - w[0] > largest[0] or w[3] - w[1] > largest[1]:
                continue
            free = sorted(n for n, (_, b) in self.walls.items() if n in self.routed and _holds(w, b))
            todo = {n: self.nets[n] for n in names + free}
            done = self.route_window(self.work / f"repair{k:03d}", w, todo, REPAIR_PASSES)
            if done is None or len(done[0]) < len(todo):
                continue
            got, patches = done
            for n in todo:
                self.routed[n] = got[n]
                self.walls[n] = (got[n], _bbox(got[n]))
                self.specials.pop(n, None)
                if n in patches:
                    self.specials[n] = patches[n]
            repaired += len(names)
        return repaired


def add_specials(def_path: Path, specials: dict[str, str]) -> Path:
    """Write qrouter's pin stubs and patches ({net: `+ ROUTED` text}) as the DEF's SPECIALNETS section."""
    if specials:
        body = "".join(f"- {n}\n+ ROUTED {t} ;\n" for n, t in sorted(specials.items()))
        text = def_path.read_text().replace("\nEND DESIGN", f"\nSPECIALNETS {len(specials)} ;\n{body}"
                                                          "END SPECIALNETS\n\nEND DESIGN")
        def_path.write_text(text)
    return def_path


def grid_conflicts(def_text: str, pitch: tuple[int, int], layers: list[str], vias: dict[str, tuple[str, ...]]
                   ) -> list[tuple[str, int, int, str, str]]:
    """Grid points that two nets' wires or vias both occupy (shorts) in a routed DEF's NETS: the check that
    routes from different qrouter runs fit together. Off-grid stubs at pins are not counted."""
    px, py = pitch
    owner: dict[tuple[str, int, int], str] = {}
    clashes = []

    def take(layer, x, y, net):
        k = (layer, x, y)
        other = owner.setdefault(k, net)
        if other != net:
            clashes.append((layer, x, y, other, net))
    for net, route in routes_of(def_text).items():
        for layer, _, pts, via in route_elements(route):
            for (ax, ay), (bx, by) in zip(pts, pts[1:]):
                if ay == by and ay % py == 0:
                    for x in range(-(-min(ax, bx) // px) * px, max(ax, bx) + 1, px):
                        take(layer, x, ay, net)
                elif ax == bx and ax % px == 0:
                    for y in range(-(-min(ay, by) // py) * py, max(ay, by) + 1, py):
                        take(layer, ax, y, net)
            if via and pts and pts[-1][0] % px == 0 and pts[-1][1] % py == 0:
                for v_layer in vias.get(via, ()):
                    if v_layer in layers:
                        take(v_layer, pts[-1][0], pts[-1][1], net)
    return clashes
