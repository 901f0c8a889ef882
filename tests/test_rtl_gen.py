"""The Migen generator: deterministic text, documented ports, table from the golden model."""
import re
import subprocess

from flow import config
from rtl_gen import golden
from rtl_gen.generator import generate_verilog
from rtl_gen.params import KanParams

from .conftest import FLOW, REPO


def test_same_config_gives_byte_identical_verilog(tmp_path):
    for out in ("a", "b"):
        res = subprocess.run([*FLOW, "rtl", "configs/b3.yaml", "-o", str(tmp_path / out)],
                             capture_output=True, text=True, cwd=REPO)
        assert res.returncode == 0, res.stderr
    assert (tmp_path / "a/kan_array.v").read_bytes() == (tmp_path / "b/kan_array.v").read_bytes()


def test_modules_and_ports_are_stable():
    p = config.load(REPO / "configs/b3.yaml").params
    text = generate_verilog(p)
    assert re.findall(r"^module (\w+)", text, re.M) == ["kan_bspline", "kan_pe", "kan_array"]
    top = text[text.index("module kan_array("):]
    header = top[: top.index(");")]
    ports = re.findall(r"(input|output)(?: reg)?(?: signed)?(?: \[(\d+):0\])? (\w+)", header)
    assert {name: (d, int(w or 0) + 1) for d, w, name in ports} == {
        "x": ("input", 4 * 8), "in_valid": ("input", 1), "load_en": ("input", 1),
        "load_data": ("input", 4 * 8), "y": ("output", 4 * 15), "out_valid": ("output", 1),
        "sys_clk": ("input", 1), "sys_rst": ("input", 1)}
    assert text.count("kan_pe pe_") == 16 and text.count("kan_bspline bspline_") == 4


def test_table_contents_come_from_the_golden_model():
    p = KanParams(grid=3, degree=1, input_bits=4, table_bits=3, table_depth=16, coef_bits=4, rows=1, cols=1)
    bs = generate_verilog(p).split("module kan_pe")[0]
    table = golden.basis_table(p)                                     # (16, 1)
    # column 0 at the direct address: one case arm per row with the table value
    arms = re.findall(r"\d+'d(\d+): begin\s+basis_0 <= \d+'d(\d+);", bs)
    assert {int(a): int(v) for a, v in arms} == {a: int(table[a, 0]) for a in range(16)}


def test_16x16_array_generates():
    p = KanParams(grid=5, degree=3, input_bits=8, table_bits=3, table_depth=256, coef_bits=8, rows=16, cols=16)
    text = generate_verilog(p)
    assert text.count("kan_pe pe_") == 256
