"""The typed config schema: shipped configs load, every kind of bad input gives one exact line."""
import subprocess
import warnings

import pytest

from flow import config
from flow.config import ConfigError

from .conftest import FLOW, REPO


@pytest.mark.parametrize("name", ["b3", "b16", "tiny", "b3-16x16"])
def test_shipped_configs_load(name):
    cfg = config.load(REPO / "configs" / f"{name}.yaml")
    assert cfg.name == name
    assert cfg.params.degree % 2 == 1


def test_b3_defaults_and_auto_accumulator():
    cfg = config.load(REPO / "configs/b3.yaml")
    p = cfg.params
    assert (p.rows, p.cols, p.grid, p.degree, p.input_bits, p.table_bits, p.coef_bits, p.table_depth) == \
        (4, 4, 5, 3, 8, 3, 8, 256)
    # 4 rows x 4 products x 7 (3-bit full scale) x 128 (most negative 8-bit coef) = 14336 -> 15 bits signed
    assert p.acc_width == 15
    assert config.load(REPO / "configs/b16.yaml").params.acc_width == 28   # 4*4*65535*128 < 2^27


def assert_error(path, expected):
    with pytest.raises(ConfigError) as exc:
        config.load(path)
    assert str(exc.value) == expected


def test_wrong_type_names_file_key_and_expectation(write_yaml):
    path = write_yaml("kan:\n  table_bits: three\n")
    assert_error(path, f"{path}: kan.table_bits: must be an integer in 1..16 (got 'three')")


def test_out_of_range_and_bool_are_rejected(write_yaml):
    path = write_yaml("kan:\n  table_bits: 17\n")
    assert_error(path, f"{path}: kan.table_bits: must be an integer in 1..16 (got 17)")
    path = write_yaml("array:\n  rows: true\n")
    assert_error(path, f"{path}: array.rows: must be an integer in 1..32 (got True)")
    path = write_yaml("flow:\n  clock_period_ns: 0\n")
    assert_error(path, f"{path}: flow.clock_period_ns: must be a finite number > 0 (got 0)")


def test_unknown_keys_suggest_the_closest(write_yaml):
    path = write_yaml("kan:\n  tabel_bits: 3\n")
    with pytest.raises(ConfigError, match=r"kan\.tabel_bits: unknown key \(did you mean 'table_bits'\?\)"):
        config.load(path)
    path = write_yaml("arrey: 4x4\n")
    with pytest.raises(ConfigError, match=r"arrey: unknown key \(did you mean 'array'\?\)"):
        config.load(path)


def test_choices_suggest_the_closest(write_yaml):
    path = write_yaml("pdk: sky130\n")
    with pytest.raises(ConfigError, match=r"pdk: must be one of .* \(got 'sky130'; did you mean 'sky130hd'\?\)"):
        config.load(path)


def test_cross_field_rules(write_yaml):
    assert_error(write_yaml("kan: {degree: 2}\n", "a.yaml"),
                 f"{write_yaml('kan: {degree: 2}', 'a.yaml')}: kan.degree: must be odd in 1..7 "
                 "for symmetric table halves (got 2)")
    path = write_yaml("kan: {input_bits: 6, table_depth: 128}\n")
    assert_error(path, f"{path}: kan.table_depth: must be a power of two <= 2^input_bits = 64 (got 128)")
    path = write_yaml("kan: {table_depth: 100}\n")
    assert_error(path, f"{path}: kan.table_depth: must be a power of two <= 2^input_bits = 256 (got 100)")


def test_array_shorthand_and_mapping_agree(write_yaml):
    a = config.load(write_yaml("array: 2x3\n", "a.yaml"))
    b = config.load(write_yaml("array: {rows: 2, cols: 3}\n", "b.yaml"))
    assert (a.params.rows, a.params.cols) == (b.params.rows, b.params.cols) == (2, 3)
    with pytest.raises(ConfigError, match=r"array: must be 'RxC'"):
        config.load(write_yaml("array: 2by3\n", "c.yaml"))


def test_explicit_narrow_accumulator_warns(write_yaml):
    path = write_yaml("kan: {acc_bits: 10}\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfg = config.load(path)
    assert cfg.params.acc_width == 10
    assert any("kan.acc_bits: 10 bits can overflow; 'auto' would be 15" in str(w.message) for w in caught)


def test_yaml_syntax_error_and_missing_file(write_yaml, tmp_path):
    path = write_yaml("kan: [1, 2\n")
    with pytest.raises(ConfigError, match=rf"^{path}: line \d+, column \d+: YAML syntax error: "):
        config.load(path)
    assert_error(tmp_path / "nope.yaml", f"{tmp_path / 'nope.yaml'}: file not found")


def test_overrides_use_dotted_keys():
    cfg = config.load(REPO / "configs/b3.yaml", {"kan.table_bits": 8, "array": "2x2", "pdk": "gf180mcu"})
    assert (cfg.params.table_bits, cfg.params.rows, cfg.pdk) == (8, 2, "gf180mcu")


def test_cli_user_error_is_one_line_exit_2(write_yaml):
    path = write_yaml("kan:\n  table_bits: three\n")
    res = subprocess.run([*FLOW, "rtl", str(path)], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 2
    assert res.stderr.strip() == f"error: {path}: kan.table_bits: must be an integer in 1..16 (got 'three')"
    assert "Traceback" not in res.stderr


def test_schema_lists_every_key_with_unit_and_help():
    rows = {r[0]: r for r in config.schema_rows()}
    assert rows["kan.table_bits"][1:4] == ("int", "an integer in 1..16", "bits")
    assert rows["flow.clock_period_ns"][3] == "ns"
    assert all(r[4] for r in rows.values())


@pytest.mark.eda
def test_grid_limit_is_where_the_input_range_ends(write_yaml, tmp_path):
    """grid <= 2^input_bits: at the limit every input code is its own interval and the RTL is still bit-exact
    against the golden model (knot corners included); one interval more is refused with the reason."""
    from flow.verify import run_cocotb
    from rtl_gen.generator import write_rtl

    cfg = config.load(write_yaml("kan: {grid: 16, degree: 3, input_bits: 4, table_depth: 16, coef_bits: 4}\n"
                                 "array: 1x1\n"))
    res = run_cocotb(cfg.params, [write_rtl(cfg.params, tmp_path / "rtl")], tmp_path, vectors=100, seed=1)
    assert res.passed and res.mismatches == 0 and res.vectors > 100
    path = write_yaml("kan: {grid: 17, degree: 3, input_bits: 4, table_depth: 16}\narray: 1x1\n")
    assert_error(path, f"{path}: kan.grid: must be <= 2^input_bits = 16, so that every grid interval holds an "
                       "input value (got 17)")


def test_a_pdk_and_mode_that_cannot_work_is_refused_at_load(write_yaml, tmp_path):
    """asap7 has no layer roles for the tiled flow: a 4x4 point (auto = tiled) is refused before any tool runs,
    with the reason; flat, and synthesis alone (the same in every mode), are accepted."""
    path = write_yaml("array: 4x4\npdk: asap7\n")
    assert_error(path, f"{path}: flow.physical: must be flat on asap7, or stop_after synth: no macro pin layers are "
                       "set up for asap7 (its flat flow routes, the tiled one was never tried) (got tiled (auto for a "
                       "4x4 array))")
    assert config.load(path, {"flow.physical": "flat"}).physical_mode == "flat"
    assert config.load(path, {"flow.stop_after": "synth"}).physical_mode == "tiled"
    res = subprocess.run([*FLOW, "run", "configs/b3.yaml", "--pdk", "asap7", "--out", str(tmp_path / "r"), "--work",
                          str(tmp_path / "w")], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.count("\n") == 1 and "configs/b3.yaml: flow.physical: must be flat on asap7" in res.stderr
    assert not (tmp_path / "r").exists() and not (tmp_path / "w").exists()


def test_every_pdk_record_names_its_tiled_layers_or_says_why_not():
    from flow import pdks
    for name, rec in pdks.RECORDS.items():
        if rec.layers is None:
            assert pdks.unsupported(name, "tiled"), name
            continue
        assert not pdks.unsupported(name, "tiled"), name
        layers = rec.layers
        assert {layers.pin_h, layers.pin_v, layers.row_tracks} <= set(layers.routing), name
    assert pdks.names_supporting("tiled") == ("sky130hd", "gf180mcu", "osu018")
    assert [n for n in pdks.NAMES if pdks.RECORDS[n].layers and pdks.RECORDS[n].layers.free] == ["sky130hd"]
