"""Windowed array routing (flow/tools/window_route.py): window choice, DEF route text, clipping and the grid
short check, on hand-written routes (no tools); the tiled tests route real arrays through it."""
from flow.tools.lefdef import route_elements, routes_of
from flow.tools.window_route import assign, candidate_windows, clip, grid_conflicts

ROUTED = """NETS 2 ;
- a
  ( u1 Y )
  ( u2 A )
+ ROUTED met1 ( 100 68 ) ( 460 * ) M1M2_PR
  NEW met2 ( 460 68 ) ( * 340 ) ( 470 * ) ;
- b
  ( u3 Y )
  ( u4 A )
+ ROUTED met1 ( 92 136 ) ( 552 * ) ;
END NETS
"""
LAYERS = ["li1", "met1", "met2"]
VIAS = {"M1M2_PR": ("met1", "met2")}


def test_routes_are_read_with_wildcards_resolved():
    routes = routes_of(ROUTED)
    assert sorted(routes) == ["a", "b"]
    assert route_elements(routes["a"]) == [("met1", "", [(100, 68), (460, 68)], "M1M2_PR"),
                                     ("met2", "", [(460, 68), (460, 340), (470, 340)], "")]


def test_clip_keeps_the_part_inside_and_vias_inside():
    a = routes_of(ROUTED)["a"]
    assert clip(a, (0, 0, 300, 1000)) == "met1 ( 100 68 ) ( 300 68 )"
    inside = clip(a, (400, 0, 1000, 200))
    assert route_elements(inside) == [("met1", "", [(400, 68), (460, 68)], ""), ("met1", "", [(460, 68)], "M1M2_PR"),
                                ("met2", "", [(460, 68), (460, 200)], "")]
    assert clip(a, (2000, 2000, 3000, 3000)) == ""


def test_grid_conflicts_find_a_short_and_only_on_grid_points():
    assert grid_conflicts(ROUTED, (92, 68), LAYERS, VIAS) == []
    shorted = ROUTED.replace("met1 ( 92 136 ) ( 552 * )", "met2 ( 460 136 ) ( 552 * )")
    assert grid_conflicts(shorted, (92, 68), LAYERS, VIAS) == [("met2", 460, 136, "a", "b")]
    # the via of `a` at (460, 68) holds met2 there too
    via_short = ROUTED.replace("met1 ( 92 136 ) ( 552 * )", "met2 ( 368 68 ) ( 460 * )")
    assert ("met2", 460, 68, "a", "b") in grid_conflicts(via_short, (92, 68), LAYERS, VIAS)


def test_windows_overlap_by_half_and_nets_go_to_the_first_that_holds_them():
    wins = candidate_windows((0, 0, 400, 300), (100, 100))
    assert len(wins) == 3 * 2 and wins[0] == (0, 0, 200, 200) and wins[1] == (100, 0, 300, 200)
    assert wins[-1] == (200, 100, 400, 300)
    jobs = assign({"short": (120, 20, 160, 60), "wide": (10, 10, 390, 20), "mid": (150, 150, 250, 250)}, wins, 10)
    assert jobs == {0: ["short"], 4: ["mid"]}        # `wide` fits no window: the full-die run routes it


def test_long_nets_are_cut_into_pieces_of_two_or_more_pins():
    from flow.tools.window_route import pieces
    tiles = candidate_windows((0, 0, 400, 300), (100, 100), 2, stride=2)
    assert tiles == [(0, 0, 200, 200), (200, 0, 400, 200), (0, 200, 200, 300), (200, 200, 400, 300)]
    conns = [("a", "CLK"), ("b", "CLK"), ("c", "CLK"), ("d", "CLK")]
    rects = [(50, 150, 60, 160), (10, 10, 10, 10), (350, 250, 350, 250), (390, 20, 390, 20)]
    got = pieces({"clk": conns}, {"clk": rects}, tiles)
    # a and b share the first tile, b (a macro pin, a point) first: the spine's way in; c and d are alone in
    # theirs, so the spine reaches them directly
    assert got == {0: {"clk": [("b", "CLK"), ("a", "CLK")]}, 3: {}, 1: {}}
    rects[1] = (10, 10, 20, 20)                 # two glue cells: the one nearer the tile's centre first
    assert pieces({"clk": conns}, {"clk": rects}, tiles)[0] == {"clk": [("a", "CLK"), ("b", "CLK")]}


def test_bigger_windows_come_in_levels_up_to_half_the_die():
    from flow.tools.window_route import spans
    assert spans((0, 0, 1700, 1650), (100, 100)) == [2, 4, 8]
    assert spans((0, 0, 900, 900), (100, 100)) == [2, 4] and spans((0, 0, 500, 500), (100, 100)) == [2]
    wins = candidate_windows((0, 0, 1700, 1700), (100, 100), 4)
    # 4x4 cells at a stride of 2, the last column and row clipped to the die: every cell is covered
    assert len(wins) == 8 * 8 and wins[1] == (200, 0, 600, 400) and wins[-1] == (1400, 1400, 1700, 1700)


def test_cut_leaves_a_hole_where_the_spine_meets_a_piece():
    from flow.tools.window_route import cut
    route = "met1 ( 0 68 ) ( 1000 * ) M1M2_PR\n  NEW met2 ( 1000 68 ) ( * 500 )"
    assert route_elements(cut(route, (400, 0, 600, 100))) == [
        ("met1", "", [(0, 68), (399, 68)], ""), ("met1", "", [(601, 68), (1000, 68)], ""),
        ("met1", "", [(1000, 68)], "M1M2_PR"), ("met2", "", [(1000, 68), (1000, 500)], "")]
    # the via at (1000, 68) is in the hole: gone with the wire around it
    assert route_elements(cut(route, (900, 0, 1100, 200))) == [("met1", "", [(0, 68), (899, 68)], ""),
                                                          ("met2", "", [(1000, 201), (1000, 500)], "")]


def test_jobs_go_to_the_smallest_window_and_big_pieces_come_first():
    from flow.tools.window_route import plan_jobs
    die, cell = (0, 0, 1700, 1700), (100, 100)
    clk = [(f"ff{i}", "CLK") for i in range(40)]
    clk_rects = [(10 + 4 * i, 20, 14 + 4 * i, 24) for i in range(32)] + [(1010 + 60 * i,) * 4 for i in range(8)]
    nets = {"short": [("a", "Y"), ("b", "A")], "mid": [("c", "Y"), ("d", "A")], "clk": clk}
    rects = {"short": [(110, 110, 120, 120), (150, 150, 160, 160)], "mid": [(20, 20, 30, 30), (330, 30, 340, 40)],
             "clk": clk_rects}
    jobs, long = plan_jobs(die, cell, nets, rects, halo=10, align=(10, 10))
    assert long == {"clk"}
    assert jobs[(0, (0, 0, 200, 200))] == {"short": nets["short"]}
    assert jobs[(1, (0, 0, 400, 400))] == {"mid": nets["mid"]}          # 310 across: only a 4x4 window holds it
    # pieces in tiles of 4x4 cells, routed in the tile grown by the halo: 32 pins in one tile are routed first,
    # alone; nearest the tile's centre first
    assert jobs[(-1, (0, 0, 410, 410))] == {"clk": sorted(clk[:32], key=lambda c: -int(c[0][2:]))}
    assert jobs[(0, (790, 790, 1210, 1210))] == {"clk": clk[32:36]}
    assert sum("clk" in j for j in jobs.values()) == 3


def test_a_cell_across_a_tile_edge_is_in_its_piece_window():
    from flow.tools.window_route import plan_jobs
    clk = [(f"ff{i}", "CLK") for i in range(9)]
    rects = [(10 * i, 10, 10 * i + 8, 20) for i in range(4)] + [(190, 10, 210, 20)] + \
        [(300 + 20 * i, 10, 308 + 20 * i, 20) for i in range(4)]
    jobs, long = plan_jobs((0, 0, 400, 200), (100, 100), {"clk": clk}, {"clk": rects}, halo=10, align=(4, 4))
    # ff4 (190..210) joins the tile of its centre; each piece's window is its tile grown by the halo (on the
    # grid of 4: 12) and clipped to the die, so it holds all of ff4
    assert long == {"clk"} and sorted(jobs) == [(0, (0, 0, 212, 200)), (0, (188, 0, 400, 200))]
    assert sorted(jobs[(0, (0, 0, 212, 200))]["clk"]) == clk[:5]
    assert jobs[(0, (188, 0, 400, 200))]["clk"][0] == clk[5]      # nearest the tile's centre (300, 100)


def test_earlier_wires_become_special_routes_with_a_width_on_every_element():
    """write_def hands qrouter the wires of earlier runs as FIXED special nets (fixed obstructions): their
    SPECIALNETS syntax needs a width (0: the layer's route width) after each layer name, vias kept."""
    from flow.tools.floorplan import special_route
    a = routes_of(ROUTED)["a"]
    assert special_route(a) == "met1 0 ( 100 68 ) ( 460 * ) M1M2_PR\n  NEW met2 0 ( 460 68 ) ( * 340 ) ( 470 * )"
    assert special_route("met3 200 ( 5 5 ) ( 7 * )\n  NEW met3 ( 7 5 ) M2M3_PR") == \
        "met3 0 ( 5 5 ) ( 7 * )\n  NEW met3 0 ( 7 5 ) M2M3_PR"


def test_windows_are_routed_in_classes_that_do_not_touch():
    """window_order: by level, then in classes of windows that do not touch (half-overlapping 2x2 windows on a
    7x7 grid: 3 x 3 classes of 4), so a class's windows can be routed at once; in row order nearly every window
    touches the one before."""
    from flow.tools.window_route import overlaps, window_order
    wins = candidate_windows((0, 0, 700, 700), (100, 100))
    jobs = {**{(0, w): {} for w in wins}, (1, (0, 0, 400, 400)): {}, (1, (300, 300, 700, 700)): {}}
    order = window_order(jobs)
    assert sorted(order) == sorted(jobs) and [lw[0] for lw in order] == sorted(lw[0] for lw in order)

    def classes(seq):      # cut the order where a window touches an earlier one of the same run or level
        runs = [[seq[0]]]
        for lw in seq[1:]:
            if lw[0] != runs[-1][0][0] or any(overlaps(o[1], lw[1]) for o in runs[-1]):
                runs.append([])
            runs[-1].append(lw)
        return runs

    assert len(wins) == 36 and [len(c) for c in classes(order)] == [4] * 9 + [1, 1]
    assert len(classes(sorted(jobs, key=lambda lw: (lw[0], lw[1][1], lw[1][0])))) == 33    # row order


def test_repair_skips_windows_wider_than_the_limit(tmp_path):
    """A net stuck in a window wider than `largest` is left to the full-die run: no repair run (no folder), none
    repaired, the net still listed as stuck; no qrouter is needed to show it (the run would have been the first
    thing it started)."""
    from flow.tools.floorplan import Floorplan
    from flow.tools.window_route import WindowRuns
    plan = Floorplan(1000, (0, 0, 8000, 8000), [("X", "met2", 10, 800), ("Y", "met1", 10, 800)], {}, {})
    runs = WindowRuns(plan, {}, None, [], tmp_path)
    runs.stuck = {(0, 0, 8000, 4000): ["n"]}
    assert runs.repair_stuck((4000, 4000)) == 0
    assert not list(tmp_path.glob("repair*")) and runs.stuck == {(0, 0, 8000, 4000): ["n"]}


def test_a_net_no_window_holds_is_routed_alone_in_its_region():
    """A few-pin net across the die (a buffer tree's top net) gets a window of its own pins' box grown by the
    halo, on the grid and clipped to the die, after every level of windows; not the full die."""
    from flow.tools.window_route import plan_jobs, region
    die, cell = (0, 0, 1700, 1700), (100, 100)
    nets = {"top": [("root", "X"), ("b0", "A"), ("b1", "A")], "short": [("a", "Y"), ("b", "A")]}
    rects = {"top": [(845, 845, 855, 855), (403, 1255, 413, 1265), (1257, 402, 1267, 412)],
             "short": [(110, 110, 120, 120), (150, 150, 160, 160)]}
    jobs, long = plan_jobs(die, cell, nets, rects, halo=10, align=(4, 6))
    assert not long and jobs[(0, (0, 0, 200, 200))] == {"short": nets["short"]}
    # 403..1267 x 402..1265 grown by 10, out to multiples of 4 in x and 6 in y; levels 0..2 (2, 4, 8 cells) first
    assert jobs[(3, (392, 390, 1280, 1278))] == {"top": nets["top"]}
    assert region(die, (5, 5, 1695, 1699), 10, (4, 6)) == die
