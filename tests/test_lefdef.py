"""flow/tools/lefdef.py on the PDKs' own LEFs (what the readers that it replaced got wrong) and on small DEFs."""
from pathlib import Path

import pytest

from flow.pdks import OSU018_DIR
from flow.tools.floorplan import x_mirrored
from flow.tools.lefdef import layer_rule, lef_macros, port_stages, routing_layers

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


STAGES_DEF = """VERSION 5.8 ;
UNITS DISTANCE MICRONS 1000 ;
DIEAREA ( 0 0 ) ( 10000 10000 ) ;
COMPONENTS 6 ;
- b1 BUF + PLACED ( 0 0 ) N ;
- b2 BUF + PLACED ( 0 0 ) N ;
- i1 INV + PLACED ( 0 0 ) N ;
- b3 BUF + PLACED ( 0 0 ) N ;
- ff1 DFF + PLACED ( 0 0 ) N ;
- ff2 DFF + PLACED ( 0 0 ) N ;
END COMPONENTS
NETS 7 ;
- clk ( PIN clk ) ( b1 A ) ( b2 A ) ;
- clk_b1 ( b1 X ) ( ff1 CLK ) ;
- clk_b2 ( b2 X ) ( ff2 CLK ) + ROUTED met1 ( 0 0 ) ( 100 0 ) ;
- d ( PIN d ) ( ff1 D ) ( i1 A ) ;
- d_n ( i1 Y ) ( ff2 D ) ;
- q ( ff1 Q ) ( b3 A ) ;
- out ( b3 X ) ( PIN out ) ;
END NETS
END DESIGN
"""


def test_port_stages_counts_the_buffers_in_series_behind_an_input_port(tmp_path):
    """clk reaches its registers through one buffer each; d reaches ff1 itself (0) although i1 stands beside it
    on a branch: the most in series counts (1); an output port's driving buffer is not behind it (0)."""
    path = tmp_path / "m.def"
    path.write_text(STAGES_DEF)
    stages = port_stages(path, {"BUF": "X", "INV": "Y"})
    assert stages == {"clk": 1, "d": 1, "out": 0}
    assert port_stages(path, {"INV": "Y"}) == {"clk": 0, "d": 1, "out": 0}
