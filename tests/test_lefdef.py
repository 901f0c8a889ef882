"""flow/tools/lefdef.py on the PDKs' own LEFs: what the readers that it replaced got wrong."""
from pathlib import Path

import pytest

from flow.pdks import OSU018_DIR
from flow.tools.floorplan import x_mirrored
from flow.tools.lefdef import layer_rule, lef_macros, routing_layers

OSU_LEF = OSU018_DIR / "osu018_stdcells.lef"


@pytest.fixture
def osu_lef() -> Path:
    if not OSU_LEF.exists():
        pytest.skip(f"{OSU_LEF} missing: apt-get install -y qflow-tech-osu018")
    return OSU_LEF


def test_routing_layers_and_vias_of_a_lef_whose_type_is_tab_separated(osu_lef):
    """osu018's LEF writes `TYPE<tab>ROUTING` on its own line: the router's old layer reader found no routing
    layer there, so its short check saw no via."""
    layers, vias = routing_layers([osu_lef])
    assert layers == ["metal1", "metal2", "metal3", "metal4", "metal5", "metal6"]
    assert vias["M2_M1"] == ("metal1", "metal2")
    assert layer_rule([osu_lef], "metal3") == (0.3, 0.3)


def test_a_pin_named_en_keeps_its_rectangle(osu_lef):
    """`END EN` after a PORT's `END` once cut pin EN short (the old x_mirrored saw no rectangle of it)."""
    tbuf = lef_macros(osu_lef)["TBUFX1"]
    assert (tbuf.width, tbuf.height) == (4.0, 10.0)
    assert tbuf.pins["EN"].rects == (("metal1", 0.2, 6.3, 1.0, 6.7),)
    assert tbuf.pins["EN"].direction == "INPUT" and tbuf.pins["vdd"].use == "POWER"
    # worst pin margin to a track of a 0.34 um grid from 0.17: Y 0.09 um unmirrored, 0.17 mirrored (EN 0.31 / 0.23);
    # without EN's rectangle every orientation scored -inf and the cell was never mirrored
    assert x_mirrored(osu_lef, "TBUFX1", 0.34, 0.17, "metal1")
