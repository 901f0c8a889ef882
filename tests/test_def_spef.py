"""flow/tools/def_spef.py: the SPEF of every net of a routed DEF from the tech LEF's R/C, on a hand-made DEF, LEF
and liberty whose numbers are worked out by hand below (no tools needed)."""
from __future__ import annotations

import re

import pytest

from flow.tools.def_spef import spef_name, tech_rc, write_spef
from flow.tools.spef import spef_summary

TECH_LEF = """VERSION 5.7 ;
UNITS
  CAPACITANCE PICOFARADS 1 ;
  RESISTANCE OHMS 1 ;
  DATABASE MICRONS 1000 ;
END UNITS
LAYER m1
  TYPE ROUTING ;
  WIDTH 0.2 ;
  SPACINGTABLE PARALLELRUNLENGTH 0
     WIDTH 0 0.2 ;
  CAPACITANCE CPERSQDIST 5e-05 ;
  EDGECAPACITANCE 4e-05 ;
  RESISTANCE RPERSQ 0.1 ;
END m1
LAYER v1
  TYPE CUT ;
  RESISTANCE 5 ;
END v1
LAYER m2
  TYPE ROUTING ;
  WIDTH 0.4 ;
  CAPACITANCE CPERSQDIST 2e-05 ;
  EDGECAPACITANCE 3e-05 ;
  RESISTANCE RPERSQ 0.05 ;
END m2
VIA V12 DEFAULT
  LAYER m1 ;
    RECT -0.1 -0.1 0.1 0.1 ;
  LAYER v1 ;
    RECT -0.05 -0.05 0.05 0.05 ;
  LAYER m2 ;
    RECT -0.2 -0.2 0.2 0.2 ;
END V12
END LIBRARY
"""

# INV pins carry no DIRECTION here: the driver must come from the liberty
CELL_LEF = """VERSION 5.7 ;
MACRO INV
  CLASS CORE ;
  SIZE 1 BY 2 ;
  PIN A
    PORT
      LAYER m1 ;
        RECT 0.1 0.9 0.3 1.1 ;
    END
  END A
  PIN Y
    PORT
      LAYER m1 ;
        RECT 0.7 0.9 0.9 1.1 ;
    END
  END Y
END INV
END LIBRARY
"""

BLOCK_LEF = """VERSION 5.7 ;
BUSBITCHARS "[]" ;
MACRO BLK
  CLASS BLOCK ;
  SIZE 20 BY 20 ;
  PIN p[0]
    DIRECTION INPUT ;
    PORT
      LAYER m1 ;
        RECT 0 10.9 0.5 11.1 ;
    END
  END p[0]
END BLK
END LIBRARY
"""

LIBERTY = """library (tiny) {
  cell (INV) {
    area : 1.0 ;
    pin (A) { direction : input ; capacitance : 0.002 ; }
    pin (Y) { direction : output ; function : "!A" ; }
  }
}
"""

# the block's own routed DEF: its die's lower-left corner is (-1, -1) um, c1's A pin at (10.2, 11.0) um from it
BLOCK_DEF = """VERSION 5.6 ;
DESIGN BLK ;
UNITS DISTANCE MICRONS 100 ;
DIEAREA ( -100 -100 ) ( 1900 1900 ) ;
COMPONENTS 1 ;
- c1 INV + PLACED ( 900 900 ) N ;
END COMPONENTS
PINS 1 ;
- p[0] + NET p[0]
  + LAYER m1 ( -10 -10 ) ( 10 10 )
  + PLACED ( -100 1000 ) N ;
END PINS
NETS 1 ;
- p[0]
  ( PIN p[0] )
  ( c1 A )
+ ROUTED m1 ( -100 1000 ) ( 920 * ) ;
END NETS
END DESIGN
"""

TOP_DEF = """VERSION 5.6 ;
DESIGN t ;
UNITS DISTANCE MICRONS 100 ;
DIEAREA ( 0 0 ) ( 10000 10000 ) ;
COMPONENTS 4 ;
- u1 INV + PLACED ( 0 0 ) N ;
- u2 INV + PLACED ( 5000 0 ) N ;
- u3 INV + PLACED ( 1000 2000 ) FS ;
- blk0 BLK + FIXED ( 6000 6000 ) N ;
END COMPONENTS
PINS 2 ;
- a + NET a + DIRECTION INPUT
  + LAYER m1 ( -10 -10 ) ( 10 10 )
  + PLACED ( 0 100 ) N ;
- y + NET y
  + LAYER m1 ( -10 -10 ) ( 10 10 )
  + PLACED ( 6000 100 ) N ;
END PINS
NETS 4 ;
- a
  ( PIN a )
  ( u1 A )
;
- n1
  ( u2 A )
  ( u1 Y )

+ ROUTED m1 ( 80 100 ) ( 1080 * ) V12
  NEW m2 ( 1080 100 ) ( * 600 ) ( 3080 * ) ( * 100 ) V12
  NEW m1 ( 3080 100 ) ( 5020 * ) ;
- n2
  ( u2 Y )
  ( u3 A )
  ( PIN y )

+ ROUTED m1 ( 5080 100 ) ( 6000 * )
  NEW m2 ( 5080 100 ) ( * 2100 ) ( 1020 * ) ;
- n3
  ( u3 Y )
  ( blk0 p[0] )

+ ROUTED m2 ( 1080 2100 ) ( 6000 * ) ( * 7100 ) ;
END NETS
END DESIGN
"""


@pytest.fixture
def files(tmp_path):
    out = {}
    for name, text in (("tech.lef", TECH_LEF), ("cells.lef", CELL_LEF), ("blk.lef", BLOCK_LEF), ("tiny.lib", LIBERTY),
                       ("blk.def", BLOCK_DEF), ("top.def", TOP_DEF)):
        out[name] = tmp_path / name
        out[name].write_text(text)
    return out


def _net(spef: str, name: str) -> tuple[float, list[str], dict[str, float], dict[tuple[str, str], float]]:
    """(total C, *CONN lines, {node: C}, {(node, node): R}) of one *D_NET."""
    body = re.search(rf"^\*D_NET {re.escape(name)} (\S+)\n(.*?)^\*END", spef, re.S | re.M)
    total, text = float(body.group(1)), body.group(2)
    conn = re.search(r"\*CONN\n(.*?)(?=^\*CAP|\Z)", text, re.S | re.M).group(1).split("\n")
    caps = {n: float(c) for n, c in re.findall(r"^\d+ (\S+) (\S+)$", text.split("*RES")[0], re.M)}
    res = {(a, b): float(r) for a, b, r in re.findall(r"^\d+ (\S+) (\S+) (\S+)$", text.split("*RES")[-1], re.M)}
    return total, [c for c in conn if c], caps if "*CAP" in text else {}, res if "*RES" in text else {}


def test_layer_and_via_rc_from_the_tech_lef(files):
    layers, cuts, vias = tech_rc(files["tech.lef"])
    assert layers["m1"].width == 0.2 and layers["m1"].rpersq == 0.1     # not the SPACINGTABLE's `WIDTH 0 0.2`
    assert layers["m1"].r(10) == pytest.approx(5.0)                     # 10 um / 0.2 um * 0.1 ohm
    assert layers["m1"].c(10) == pytest.approx(10 * (0.2 * 5e-5 + 2 * 4e-5))
    assert cuts == {"v1": 5.0} and vias == {"V12": 5.0}                  # the VIA takes its cut layer's R


def test_wire_r_and_c_of_each_net(files, tmp_path):
    out = tmp_path / "t.spef"
    info = write_spef(files["top.def"], [files["tech.lef"], files["cells.lef"], files["blk.lef"]], files["tiny.lib"],
                      out, "t", {"y": "output"}, {"BLK": files["blk.def"]})
    spef = out.read_text()
    assert info["nets"] == 4 and info["annotated"] == 3 and info["expanded"] == 1
    assert info["no_driver"] == [] and info["missing"] == [] and info["no_rc"] is False
    assert "*BUS_DELIMITER []" in spef and "*C_UNIT 1 PF" in spef and "*R_UNIT 1 OHM" in spef
    assert re.search(r"^\*PORTS\na I\ny O\n", spef, re.M)

    # a net with no route: its pin connections only
    total, conn, caps, res = _net(spef, "a")
    assert total == 0 and conn == ["*P a I", "*I u1:A I"] and caps == {} and res == {}

    # n1: m1 10 + 19.4 um, m2 5 + 20 + 5 um (a detour), 2 vias of 5 ohm; driver u1:Y (the liberty says Y is the
    # output) at (0.8, 1.0), load u2:A at (50.2, 1.0): 49.4 um apart. C = 29.4 * (0.2*5e-5 + 2*4e-5)
    # + 30 * (0.4*2e-5 + 2*3e-5) = 0.002646 + 0.00204 pF, half at each end. R = 29.4/0.2*0.1 + 30/0.4*0.05
    # + 2*5 = 28.45 ohm: the route (59.4 um) is longer than the pins' distance, so the 2-pin net keeps its R.
    total, conn, caps, res = _net(spef, "n1")
    assert conn == ["*I u2:A I", "*I u1:Y O"]
    assert total == pytest.approx(0.004686, abs=1e-6)
    assert caps == {"u1:Y": pytest.approx(0.002343, abs=1e-6), "u2:A": pytest.approx(0.002343, abs=1e-6)}
    assert res == {("u1:Y", "u2:A"): pytest.approx(28.45, abs=1e-3)}

    # n2: driver u2:Y at (50.8, 1.0); u3 is flipped (FS): its A pin at (10 + 0.2, 20 + 2 - 1.0); port y at (60, 1).
    # m1 9.2 um + m2 20 + 40.6 um: R = 4.6 + 7.575 = 12.175 ohm over 69.8 um, C = 0.000828 + 0.0041208 pF.
    # Star: u3:A 60.6 um away, y 9.2 um away (sum 69.8 = the routed length: no stretch).
    total, conn, caps, res = _net(spef, "n2")
    assert conn == ["*I u2:Y O", "*I u3:A I", "*P y O"]
    assert total == pytest.approx(0.0049488, abs=1e-7)
    assert caps["u2:Y"] == pytest.approx(0.0024744, abs=1e-7)
    assert caps["u3:A"] == pytest.approx(0.0024744 * 60.6 / 69.8, abs=1e-7)
    assert caps["y"] == pytest.approx(0.0024744 * 9.2 / 69.8, abs=1e-7)
    assert res[("u2:Y", "u3:A")] == pytest.approx(12.175 * 60.6 / 69.8, abs=1e-3)
    assert res[("u2:Y", "y")] == pytest.approx(12.175 * 9.2 / 69.8, abs=1e-3)

    # n3 ends on a macro pin: written as the cell pin inside (blk0/c1:A at (60 + 10.2, 60 + 11.0)), with the
    # macro's 10.2 um of m1 up to it added to the array's 99.2 um of m2
    total, conn, caps, res = _net(spef, "n3")
    assert conn == ["*I u3:Y O", "*I blk0/c1:A I"]
    assert total == pytest.approx(99.2 * 6.8e-5 + 10.2 * 9e-5, abs=1e-7)
    assert res == {("u3:Y", "blk0/c1:A"): pytest.approx(99.2 / 0.4 * 0.05 + 10.2 / 0.2 * 0.1, abs=1e-3)}
    assert info["top_cap_pf"] == pytest.approx(0.004686 + 0.0049488 + 99.2 * 6.8e-5, abs=1e-7)
    assert spef_summary(out)["total_cap"] == pytest.approx(info["total_cap_pf"], abs=1e-5)


def test_macro_pin_without_its_def_stays_a_macro_pin(files, tmp_path):
    info = write_spef(files["top.def"], [files["tech.lef"], files["cells.lef"], files["blk.lef"]], files["tiny.lib"],
                      tmp_path / "t.spef", "t", {"y": "output"})
    assert info["expanded"] == 0
    total, conn, _, _ = _net((tmp_path / "t.spef").read_text(), "n3")
    assert conn == ["*I u3:Y O", "*I blk0:p[0] I"] and total == pytest.approx(99.2 * 6.8e-5, abs=1e-7)


def test_tech_lef_without_rc_writes_connections_only(files, tmp_path):
    """asap7's tech LEF has no R/C: no made-up numbers, every net 0 pF, and the info says so."""
    bare = re.sub(r"^\s*(CAPACITANCE|EDGECAPACITANCE|RESISTANCE)\b.*\n", "", TECH_LEF, flags=re.M)
    (tmp_path / "bare.lef").write_text(bare)
    out = tmp_path / "t.spef"
    info = write_spef(files["top.def"], [tmp_path / "bare.lef", files["cells.lef"], files["blk.lef"]],
                      files["tiny.lib"], out, "t", {"y": "output"})
    assert info["no_rc"] is True and info["annotated"] == 0 and info["total_cap_pf"] == 0
    assert info["wire_um"] == pytest.approx(59.4 + 69.8 + 99.2)
    assert "*CAP" not in out.read_text() and spef_summary(out)["total_cap"] == 0


def test_spef_names_escape_what_opensta_would_split():
    assert spef_name("x[3]") == "x[3]" and spef_name("pe_0_0") == "pe_0_0"
    assert spef_name("a.b$c[2]") == "a\\.b\\$c[2]" and spef_name("m[1]_q") == "m\\[1\\]_q"


def test_router_generated_vias_take_their_cut_layers_r(files, tmp_path):
    """gf180mcu states via R on its VIAs only, and qrouter writes the vias it generates into the DEF's VIAS:
    such a via gets the R of a LEF VIA through the same cut layer."""
    lef = TECH_LEF.replace("  RESISTANCE 5 ;\n", "")
    lef = lef.replace("0.2 0.2 ;\nEND V12", "0.2 0.2 ;\n  RESISTANCE 4 ;\nEND V12")
    (tmp_path / "tech4.lef").write_text(lef)
    assert tech_rc(tmp_path / "tech4.lef")[1:] == ({"v1": 4.0}, {"V12": 4.0})
    top = TOP_DEF.replace("COMPONENTS 4 ;", "VIAS 1 ;\n- V12_GEN_0\n+ RECT m1 ( -10 -10 ) ( 10 10 )\n"
                                            "+ RECT v1 ( -5 -5 ) ( 5 5 )\n+ RECT m2 ( -20 -20 ) ( 20 20 ) ;\n"
                                            "END VIAS\nCOMPONENTS 4 ;").replace(") V12", ") V12_GEN_0")
    (tmp_path / "top.def").write_text(top)
    out = tmp_path / "t.spef"
    info = write_spef(tmp_path / "top.def", [tmp_path / "tech4.lef", files["cells.lef"], files["blk.lef"]],
                      files["tiny.lib"], out, "t", {"y": "output"})
    assert info["missing"] == []
    _, _, _, res = _net(out.read_text(), "n1")
    assert res == {("u1:Y", "u2:A"): pytest.approx(29.4 / 0.2 * 0.1 + 30 / 0.4 * 0.05 + 2 * 4, abs=1e-3)}
