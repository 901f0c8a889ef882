"""NAND2-equivalent area and FO4 delay read from the liberty files."""
import os
import subprocess
import sys

import numpy as np
import pytest

from flow import pdks
from flow.units import interpolate, node_units


def test_interpolation_is_exact_on_the_grid_and_linear_between():
    table = (np.array([0.0, 1.0]), np.array([0.0, 2.0]), np.array([[1.0, 3.0], [5.0, 7.0]]))
    assert interpolate(table, 1.0, 2.0) == 7.0
    assert interpolate(table, 0.5, 1.0) == pytest.approx(4.0)
    assert interpolate(table, 2.0, 0.0) == pytest.approx(9.0)            # linear extrapolation


def test_node_units_per_pdk():
    sky = node_units(pdks.resolve("sky130hd"))
    gf = node_units(pdks.resolve("gf180mcu"))
    assert sky["nand2_area"].value == pytest.approx(3.7536)            # sky130_fd_sc_hd__nand2_1 in the liberty
    assert gf["nand2_area"].value == pytest.approx(14.112)
    assert 40 < sky["fo4_delay"].value < 120                          # 130 nm at 1.8 V: tens of ps
    assert gf["fo4_delay"].value > 2 * sky["fo4_delay"].value          # 5 V thick-oxide cells are slower
    assert sky["fo4_delay"].unit == "ps" and sky["fo4_delay"].source.endswith(".lib")


def test_a_relative_cache_folder_is_made_absolute(tmp_path):
    """Tools run in their node folders: a relative KAN_CACHE must not reach them as it was given."""
    out = subprocess.run([sys.executable, "-c", "from flow.tools.liberty import CACHE; print(CACHE)"], cwd=tmp_path,
                         env={**os.environ, "KAN_CACHE": "rel/cache", "PYTHONPATH": str(pdks.REPO)},
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(tmp_path / "rel" / "cache")
