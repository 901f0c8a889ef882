"""bench/run.py pure functions: exponent fit, machine info, Yosys stat parsing, tables, options (no timing)."""
import importlib.util
import re

import pytest

from .conftest import REPO

spec = importlib.util.spec_from_file_location("bench_run", REPO / "bench" / "run.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_fit_exponent_recovers_power_law():
    cells = [300, 1200, 4800, 19200]
    k, r2 = bench.fit_exponent(cells, [0.02 * c ** 1.55 for c in cells])
    assert k == pytest.approx(1.55)
    assert r2 == pytest.approx(1.0)
    assert bench.fit_exponent([100, 100], [1.0, 2.0]) is None          # one size: no slope
    assert bench.fit_exponent([100, 400, 0], [1.0, 4.0, 5.0])[0] == pytest.approx(1.0)  # non-positive ignored


def test_machine_info_parses_proc_files():
    info = bench.machine_info("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold\n",
                              "MemTotal:       24576000 kB\nMemFree: 1 kB\n", 2)
    assert info == {"nproc": 2, "memory [GiB]": 23.4, "cpu": "Intel(R) Xeon(R) Gold"}
    assert bench.machine_info("", "", 1)["cpu"] == "unknown"


STAT = """
=== kan_pe ===

        +----------Local Count, excluding submodules.
        |        +-Local Area, excluding submodules.
        |        |
      269        - wires
      289    11656 cells
        2       64   AND2X1
       32     3072   DFFPOSX1

   Chip area for module '\\kan_pe': 11656.000000
     of which used for sequential elements: 3072.000000 (26.36%)

=== kan_bspline ===

       29     1355 cells
        8      768   DFFPOSX1

   Chip area for module '\\kan_bspline': 1355.000000
     of which used for sequential elements: 768.000000 (56.68%)

=== design hierarchy ===

      331    13803 kan_array
"""


def test_parse_stat_modules():
    mods = bench.parse_stat_modules(STAT)
    assert set(mods) == {"kan_pe", "kan_bspline"}
    assert mods["kan_pe"]["area"] == 11656.0
    assert mods["kan_pe"]["sequential"] == 3072.0
    assert mods["kan_pe"]["cells"]["DFFPOSX1"] == (32, 3072.0)
    assert "wires" not in mods["kan_pe"]["cells"]


def test_ratios_and_table():
    assert bench.ideal_speedup(3, 2) == 1.5
    assert bench.ideal_speedup(4, 2) == 2.0
    assert bench.pct(28.0, 100.0) == pytest.approx(-72.0)
    assert bench.step_order("rtl") < bench.step_order("synth") < bench.step_order("sta_route") < \
        bench.step_order("tile_macro")
    text = bench.table([{"point": "1x1 b3", "wall [s]": 16.04}])
    assert text.splitlines() == ["| point | wall [s] |", "|---|---|", "| 1x1 b3 | 16.04 |"]
    text = bench.table([{"point": "2x2", "cells": 16805}, {"point": "16x16", "cells": None}])
    assert text.splitlines()[2:] == ["| 2x2 | 16,805 |", "| 16x16 | None |"]   # flow.report.human: no 1.68e+04


def test_tiled_vs_flat_pairs_only_points_where_both_modes_finished():
    row = lambda array, mode, status, area, fmax, wall: {
        "array": array, "table_bits": 3, "physical": mode, "status": status, "cell area [um^2]": area,
        "die area [um^2]": 2 * area, "fmax [MHz]": fmax, "wall [s]": wall}
    rows = [row("1x1", "flat", "ok", 100.0, 200.0, 30.0), row("1x1", "tiled", "ok", 101.0, 190.0, 60.0),
            row("2x2", "flat", "failed", 400.0, 0.0, 9.0), row("2x2", "tiled", "ok", 404.0, 180.0, 40.0),
            row("4x4", "tiled", "ok", 1600.0, 170.0, 90.0)]
    assert bench.tiled_vs_flat(rows) == [{"point": "1x1 b3", "cell area tiled/flat": 1.01, "die area tiled/flat": 1.01,
                                          "fmax tiled/flat": 0.95, "wall time tiled/flat": 2.0}]


def test_options():
    args = bench.parse_args(["--sections", "speed,calib", "--arrays", "1x1,2x2", "--bits", "3"])
    assert (args.sections, args.arrays, args.bits, args.pdks) == (["speed", "calib"], ["1x1", "2x2"], [3], None)
    quick = bench.parse_args(["--quick"])
    assert quick.arrays == ["1x1"] and 3 in quick.trend_bits and 16 in quick.trend_bits
    with pytest.raises(SystemExit):
        bench.parse_args(["--sections", "sped"])
    skip = bench.parse_args(["--skip", "4x4 * flat,8x8 b16 *"]).skip
    assert [bench.skip_point(p, skip) for p in ("4x4 b3 sky130hd flat", "4x4 b3 sky130hd tiled",
                                                "8x8 b16 sky130hd tiled", "8x8 b3 sky130hd tiled")] == [
        True, False, True, False]


def test_bench_sweeps_load(tmp_path):
    """The trend points are the default array through synthesis and pre-route timing; speed takes its axes."""
    trend = bench.bench_sweep(bench.BENCH / "trend.yaml", {"kan.table_bits": [12, 16], "pdk": ["sky130hd"]},
                              tmp_path)
    assert [(p.cfg.kan.table_bits, p.cfg.array.rows, p.cfg.flow.stop_after) for p in trend.points] == [
        (12, 4, "synth"), (16, 4, "synth")]
    speed = bench.bench_sweep(bench.BENCH / "speed.yaml", {"array": ["1x1"], "kan.table_bits": [3]}, tmp_path)
    assert [(p.cfg.array.rows, p.cfg.flow.power_vectors) for p in speed.points] == [(1, 500)]
    args = bench.parse_args(["--power-vectors", "0"])
    assert args.power_vectors == 0 and bench.parse_args([]).power_vectors == 500
    no_power = bench.bench_sweep(bench.BENCH / "speed.yaml", {"flow.power_vectors": [args.power_vectors]}, tmp_path)
    assert {p.cfg.flow.power_vectors for p in no_power.points} == {0}


def test_speed_tables_show_the_clock_quality_and_fit_the_growth():
    """Two points 4x apart in PEs, 4x in time: the exponent vs PEs is 1; the results table carries skew and hold."""
    rows = [{"point": f"{n}x{n} b3 sky130hd tiled", "array": f"{n}x{n}", "PEs": n * n, "cells": 1000 * n * n,
             "status": "ok", "table_bits": 3, "physical": "tiled", "wall [s]": 10.0 * n * n, "tool [s]": 9.0 * n * n,
             "route_top [s]": 5.0 * n * n, "cell area [um^2]": 1.0, "die area [um^2]": 2.0, "fmax [MHz]": 130.0,
             "failed nets": 0, "clock skew [ns]": 0.1 * n, "register hold slack [ns]": 0.05 * n}
            for n in (4, 8)]
    text = "\n".join(bench.speed_parts(rows, "header"))
    assert "| clock skew [ns] | register hold slack [ns] |" in text and "| 0 | 0.8 | 0.4 |" in text
    fit = re.search(r"\| 3 \| tiled \| flow total \| 2 \| ([\d.]+) \| [\d.]+ \| ([\d.]+) \|", text)
    assert fit and float(fit.group(1)) == 1.0 and float(fit.group(2)) == 1.0
