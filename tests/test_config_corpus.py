"""Corpus of broken configs and sweep files: every leaf of configs/b3.yaml broken several ways, every whole-file
fault, each run through the CLI (`flow rtl`, `flow run --stop-after synth`, `flow sweep`) as a user would.

Every case must end the same way: exit 2, exactly one line on stderr naming the file and the key (or the line),
no traceback, nothing on stdout, nothing created under build/ or reports/ of the folder it ran in. The CLI is
called in-process (its `main`, with the working folder a fresh temp folder) for speed; a few cases go through
the installed `flow` executable in a subprocess to prove the real entry point behaves the same.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from config_schema.errors import MESSAGE_CHARS
from flow import cli, config

from .conftest import FLOW, REPO

B3 = yaml.safe_load((REPO / "configs/b3.yaml").read_text())
MAX_LINE = 600          # one line, short: an alias bomb once gave a 28 MB error


def b3_with(dotted: str, value) -> str:
    """configs/b3.yaml with one leaf replaced (value is YAML text, inserted as written)."""
    lines = []
    for key, v in B3.items():
        if isinstance(v, dict):
            lines.append(f"{key}:")
            lines += [f"  {k}: {value if dotted == f'{key}.{k}' else _yaml(x)}" for k, x in v.items()]
        else:
            lines.append(f"{key}: {value if dotted == key else _yaml(v)}")
    return "\n".join(lines) + "\n"


def _yaml(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...").removesuffix(" ...")


# the issue's ~300-byte file: key h expands to 9^8 = 43 million strings; e (9^4 + ...) is the first too big
ALIAS_BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, c in zip("abcdefg", "bcdefgh"))
# the same inside one value: [&a [...], &b [*a x 9], ..., &h [*g x 9]]
BOMB_VALUE = "[&a [lol, lol, lol, lol, lol, lol, lol, lol, lol], " + ", ".join(
    f"&{c} [" + ", ".join([f"*{p}"] * 9) + "]" for p, c in zip("abcdefg", "bcdefgh")) + "]"


# leaf -> [(YAML value text, what the message must contain)]: wrong type, out of range, non-finite, huge, null...
HUGE = "x" * 100_000
LEAF_BREAKS = {
    "name": [("..", "not starting with '.'"), (".", "not starting with '.'"), ("../x", "letters, digits"),
             ("a/b", "letters, digits"), (".hidden", "not starting with '.'"), ("'a b'", "letters, digits"),
             ("5", "must be a string"), ("[b3]", "must be a string"), (HUGE, "letters, digits"),
             ("'" + "n" * 201 + "'", "1..200")],
    "kan.grid": [("three", "an integer in 1..64"), ("5.5", "an integer"), ("true", "an integer"),
                 ("0", "in 1..64"), ("65", "in 1..64"), (".inf", "an integer"), (".nan", "an integer"),
                 ("9" * 5000, "at most 4300 digits"), ("~", "an integer"), ("[5]", "an integer"),
                 (HUGE, "an integer"), ("257", "in 1..64")],
    "kan.degree": [("cubic", "an integer in 1..7"), ("0", "in 1..7"), ("9", "in 1..7"), ("2", "must be odd"),
                   ("-.inf", "an integer"), ("{p: 3}", "an integer")],
    "kan.input_bits": [("eight", "an integer in 4..16"), ("3", "in 4..16"), ("17", "in 4..16"),
                       ("7", "kan.table_depth: must be a power of two <= 2^input_bits = 128"), (".nan", "an integer")],
    "kan.table_bits": [("three", "in 1..16"), ("0", "in 1..16"), ("17", "in 1..16"), ("3.0", "an integer"),
                       ("-1", "in 1..16"), (".inf", "an integer")],
    "kan.table_depth": [("deep", "an integer"), ("1", "in 2..65536"), ("100", "power of two"),
                        ("512", "power of two <= 2^input_bits = 256"), ("131072", "in 2..65536")],
    "kan.coef_bits": [("8b", "an integer in 2..16"), ("1", "in 2..16"), ("99", "in 2..16"), ("no", "an integer")],
    "kan.acc_bits": [("autoo", "or 'auto'"), ("1", "in 2..64 or 'auto'"), ("65", "in 2..64"),
                     (".inf", "or 'auto'"), ("[auto]", "or 'auto'")],
    "array": [("4by4", "'RxC'"), ("0X4", "array.rows: must be an integer in 1..32"), ("0x4", "(got 4)"),
              ("4x99", "array.cols: must be an integer in 1..32"), ("16", "'RxC'"), ("'4x4x4'", "'RxC'"),
              ("{rows: 0, cols: 4}", "in 1..32"), ("{rows: 2, colz: 2}", "did you mean 'cols'"),
              ("[4, 4]", "'RxC'"), (HUGE, "'RxC'"), ("99999999999x1", "'RxC'")],
    "pdk": [("sky130", "did you mean 'sky130hd'"), ("gf180", "did you mean 'gf180mcu'"), ("130", "one of"),
            ("~", "one of"), (HUGE, "one of")],
    "flow.clock_period_ns": [("fast", "a finite number > 0"), ("0", "> 0"), ("-1", "> 0"),
                             (".inf", "finite"), ("-.inf", "finite"), (".nan", "finite"), ("true", "number"),
                             ("10ns", "a finite number")],
}
# unknown keys beside each leaf and section, with the hint the user needs
TYPOS = [("kan.gird", "kan.gird: unknown key (did you mean 'grid'?)"),
         ("kan.table_bit", "(did you mean 'table_bits'?)"), ("kan.acc_bit", "(did you mean 'acc_bits'?)"),
         ("flow.clock_period", "(did you mean 'clock_period_ns'?)"), ("flow.stop", "unknown key"),
         ("arrey", "arrey: unknown key (did you mean 'array'?)"), ("pdkk", "(did you mean 'pdk'?)"),
         ("nmae", "(did you mean 'name'?)"), ("kann", "(did you mean 'kan'?)"), ("x" * 1000, "unknown key")]


def leaf_cases():
    for dotted, breaks in LEAF_BREAKS.items():
        for i, (value, expected) in enumerate(breaks):
            named = expected.split(":")[0]       # a cross-check names the other key of the pair
            key = named if named.startswith(("kan.", "array.")) else dotted
            yield pytest.param(b3_with(dotted, value), key, expected, id=f"{dotted}-{i}")
        yield pytest.param(b3_with(dotted, BOMB_VALUE), dotted, "at most 10000 values", id=f"{dotted}-alias-bomb")
    for dotted, expected in TYPOS:
        section, _, leaf = dotted.rpartition(".")
        text = (REPO / "configs/b3.yaml").read_text()
        text = text.replace(f"{section}:\n", f"{section}:\n  {leaf}: 1\n") if section else text + f"{leaf}: 1\n"
        yield pytest.param(text, config.key_text(dotted) if len(dotted) < 40 else "'xxx", expected,
                           id=f"typo-{dotted[:20]}")


B3_TEXT = (REPO / "configs/b3.yaml").read_text()
# whole-file faults: (bytes, key or line named, what the message must contain)
FILE_FAULTS = {
    "empty": (b"", "<top>", "got an empty file"),
    "comment-only": (b"# nothing here\n", "<top>", "got an empty file"),
    "document-marker": (b"---\n", "<top>", "got an empty file"),
    "null": (b"~\n", "<top>", "got an empty file"),
    "empty-mapping": (b"{}\n", "<top>", "got an empty mapping"),
    "list-at-top": (b"- kan\n- array\n", "<top>", "must be a mapping of config keys (got ['kan', 'array'])"),
    "scalar": (b"hello\n", "<top>", "got 'hello'"),
    "number": (b"42\n", "<top>", "got 42"),
    "invalid-utf8": (b"\xff\xfe\x00garbage\n", "line 1, column 1", "must be UTF-8 text (got byte 0xff)"),
    "latin1": (b"name: caf\xe9\n", "line 1, column 10", "must be UTF-8 text (got byte 0xe9)"),
    "nul": (b"name: a\x00b\n", "line 1, column 8", "control character U+0000"),
    "escape": (B3_TEXT.replace("pdk: sky130hd", "pdk: \x1b[31msky130hd").encode(), "line 12, column 6",
               "control character U+001B"),
    "bell-in-key": (b"\x07kan: {}\n", "line 1, column 1", "control character U+0007"),
    "noncharacter": ("name: a\ufffeb\n".encode(), "line 1, column 8", "non-printable character U+FFFE"),
    "duplicate-top": (B3_TEXT.encode() + b"kan:\n  grid: 7\n", "kan", "must appear once in its mapping (got it on "
                      "lines 3 and 15)"),
    "duplicate-nested": (B3_TEXT.replace("  degree: 3 ", "  grid: 7\n  degree: 3 ").encode(), "kan.grid",
                         "(got it on lines 4 and 5)"),
    "duplicate-flow-mapping": (b"kan: {grid: 3, grid: 5}\n", "kan.grid", "line 1, columns 7 and 16"),
    "duplicate-name": (b"name: a\nname: b\n", "name", "lines 1 and 2"),
    "alias-bomb-top": (ALIAS_BOMB.encode(), "e", "at most 10000 values once YAML aliases are expanded (got 66430)"),
    "alias-bomb-kan": ((ALIAS_BOMB + "kan: {grid: *h}\n").encode(), "e", "at most 10000 values"),
    "recursive-alias": (b"kan: &k {grid: *k}\n", "kan", "recursive alias"),
    "undefined-alias": (b"kan: *nope\n", "line 1, column 6", "found undefined alias"),
    "name-dotdot": (b"name: ..\n", "name", "not starting with '.'"),
    "name-dot": (b"name: .\narray: 1x1\n", "name", "not starting with '.'"),
    "tab-indent": (b"kan:\n\tgrid: 3\n", "line 2, column 1", "found character '\\t'"),
    "unclosed-flow": (b"kan: [1, 2\n", "line 2, column 1", "YAML syntax error"),
    "mapping-in-scalar": (b"kan: grid: 3\n", "line 1, column 10", "mapping values are not allowed here"),
    "unterminated-quote": (b"name: 'b3\n", "line 2, column 1", "YAML syntax error"),
    "bad-indent": (b"kan:\n  grid: 3\n grid: 4\n", "line 3, column 2", "YAML syntax error"),
    "garbage": (b"{{{]]]::\n", "line 1", "YAML syntax error"),
    "reserved-char": (b"@kan: 1\n", "line 1, column 1", "YAML syntax error"),
    "two-documents": (b"name: a\n---\nname: b\n", "line 2, column 1", "expected a single document"),
    "yaml-directive": (b"%YAML 9.9\n---\nname: a\n", "line 1, column 1", "YAML syntax error"),
    "python-tag": (b"kan: !!python/object/apply:os.system [ls]\n", "kan", "must be a plain YAML value"),
    "binary-tag": (b"name: !!binary aGk=\n", "name", "(got tag '!!binary')"),
    "local-tag": (b"pdk: !sky sky130hd\n", "pdk", "(got tag '!sky')"),
    "set-tag": (b"kan: !!set {grid}\n", "kan", "got tag '!!set'"),
    "unhashable-key": (b"? [a, b]\n: 1\n", "line 1, column 3", "unhashable key"),
    "deep-nesting": (b"kan: " + b"[" * 50_000 + b"\n", "line 1, column 21", "must nest at most 16 levels"),
    "alias-chain": (("a0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 100))).encode(),
                    "a14", "must nest at most 16 levels once YAML aliases are expanded (got 102)"),
    "huge-int-key": (b"? " + b"9" * 5000 + b"\n: 1\n", "'9999", "must be an integer of at most 4300 digits"),
    "tagged-key": (b"? !!binary aGk=\n: 1\n", "'aGk='", "(got tag '!!binary')"),
    "key-with-newline": (b"\"ka\\nn\": 1\n", "'ka\\nn'", "unknown key"),
    "huge-file": (b"# " + b"x" * (1 << 20) + b"\n", "<top>", "at most 1048576 bytes"),
    "section-scalar": (b"kan: 5\n", "kan", "must be a mapping of keys (got 5)"),
    "section-list": (b"flow: [synth]\n", "flow", "must be a mapping of keys (got ['synth'])"),
    "grid-above-input-range": (b"kan: {grid: 17, input_bits: 4, table_depth: 16}\narray: 1x1\n", "kan.grid",
                               "must be <= 2^input_bits = 16"),
    "grid-33-input-5": (b"kan: {grid: 33, input_bits: 5, table_depth: 32}\narray: 1x1\n", "kan.grid",
                        "must be <= 2^input_bits = 32"),
    "model-missing": (b"model: reports/models/nope/model.json\n", "model", "not found"),
}


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """The CLI run with a fresh temp folder as the working folder (build/ and reports/ are relative to it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(capsys, folder: Path, argv: list[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert not (folder / "build").exists() and not (folder / "reports").exists(), argv
    return code, out, err


def assert_one_line_error(code, out, err, path: Path, key: str, expected: str):
    assert code == 2, (code, err)
    assert out == "", out
    assert err.count("\n") == 1 and err.endswith("\n"), err[:2000]
    assert "Traceback" not in err and len(err) < MAX_LINE, err[:2000]
    assert err.startswith(f"error: {path}: {key}"), err
    assert expected in err, err


def check_both_commands(capsys, folder: Path, path: Path, key: str, expected: str):
    for argv in (["rtl", str(path)], ["run", str(path), "--stop-after", "synth"]):
        assert_one_line_error(*run_cli(capsys, folder, argv), path, key, expected)


@pytest.mark.parametrize("text,key,expected", list(leaf_cases()))
def test_every_b3_leaf_broken(in_tmp, capsys, text, key, expected):
    path = in_tmp / "broken.yaml"
    path.write_text(text)
    check_both_commands(capsys, in_tmp, path, key, expected)


@pytest.mark.parametrize("case", sorted(FILE_FAULTS))
def test_every_whole_file_fault(in_tmp, capsys, case):
    data, key, expected = FILE_FAULTS[case]
    path = in_tmp / f"{case}.yaml"
    path.write_bytes(data)
    check_both_commands(capsys, in_tmp, path, key, expected)


def test_controls_pass(in_tmp, capsys):
    """The unbroken b3.yaml (and it with CRLF line ends, a UTF-8 BOM, a merge key, a date-like name) loads: the
    corpus refuses the faults, not everything."""
    for name, text in [("b3", B3_TEXT), ("crlf", B3_TEXT.replace("\n", "\r\n")), ("bom", "\ufeff" + B3_TEXT),
                       ("merge", "kan:\n  <<: {grid: 3, degree: 1}\n  grid: 5\narray: 1x1\n"),
                       ("date", "name: 2024-01-01\narray: 1x1\n")]:
        path = in_tmp / f"{name}.yaml"
        path.write_bytes(text.encode())
        assert cli.main(["rtl", str(path), "-o", str(in_tmp / "out" / name)]) == 0, capsys.readouterr().err
    assert config.load(in_tmp / "date.yaml").name == "2024-01-01"
    assert (config.load(in_tmp / "merge.yaml").kan.grid, config.load(in_tmp / "merge.yaml").kan.degree) == (5, 1)
    assert config.load(in_tmp / "crlf.yaml") == config.load(REPO / "configs/b3.yaml")


def test_missing_and_unreadable_files(in_tmp, capsys):
    for path, expected in [(in_tmp / "nope.yaml", "file not found"), (in_tmp, "cannot read: Is a directory")]:
        code, out, err = run_cli(capsys, in_tmp, ["rtl", str(path)])
        assert (code, out, err) == (2, "", f"error: {path}: {expected}\n")


def test_error_values_are_cut_short():
    assert config.short("x" * 100_000) == repr("x" * 100_000)[:40] + "..."
    nested = []
    for _ in range(200):
        nested = [nested] * 9                  # 9^200 leaves if walked: short() must not walk them
    assert len(config.short(nested)) <= 43
    assert str(config.ConfigError("a\nb" + "c" * 10_000)).startswith("a\\nbccc") \
        and len(str(config.ConfigError("c" * 10_000))) == MESSAGE_CHARS + 3


# ---------------------------------------------------------------- sweep files (configs/nightly.yaml style)

NIGHTLY = (REPO / "configs/nightly.yaml").read_text().replace("base: b3.yaml", f"base: {REPO / 'configs/b3.yaml'}")
SWEEP_FAULTS = {
    "unknown-key": (NIGHTLY + "axis: {}\n", "axis", "unknown key (did you mean 'axes'?)"),
    "name-dotdot": (NIGHTLY.replace("name: nightly", "name: .."), "name", "not starting with '.'"),
    "name-slash": (NIGHTLY.replace("name: nightly", "name: a/b"), "name", "letters, digits"),
    "base-missing": (NIGHTLY.replace(f"base: {REPO / 'configs/b3.yaml'}\n", ""), "base", "(got nothing)"),
    "base-not-found": (NIGHTLY.replace("configs/b3.yaml", "configs/b33.yaml"), "base", "not found"),
    "base-number": (NIGHTLY.replace(f"base: {REPO / 'configs/b3.yaml'}", "base: 3"), "base", "(got 3)"),
    "base-list": (NIGHTLY.replace(f"base: {REPO / 'configs/b3.yaml'}", "base: [b3.yaml]"), "base", "(got ['b3"),
    "mode": (NIGHTLY + "mode: prodcut\n", "mode", "(got 'prodcut'; did you mean 'product'?)"),
    "set-list": (NIGHTLY.replace("set:\n  flow.physical: tiled", "set: [flow.physical]"), "set", "must be a mapping"),
    "set-unknown": (NIGHTLY.replace("flow.physical: tiled", "flow.phsyical: tiled"), "set.flow.phsyical",
                    "(did you mean 'flow.physical'?)"),
    "set-value": (NIGHTLY.replace("flow.physical: tiled", "flow.physical: tiledd"), "set.flow.physical",
                  "(got 'tiledd'; did you mean 'tiled'?)"),
    "set-section": (NIGHTLY.replace("flow.physical: tiled", "kan: 5"), "set.kan", "must be set key by key"),
    "set-inf": (NIGHTLY.replace("flow.physical: tiled", "flow.clock_period_ns: .inf"), "set.flow.clock_period_ns",
                "finite"),
    "axes-missing": (NIGHTLY.split("axes:")[0], "axes", "must map dotted config keys"),
    "axes-empty-list": (NIGHTLY.replace("pdk: [sky130hd, gf180mcu]", "pdk: []"), "axes.pdk", "non-empty list"),
    "axes-scalar": (NIGHTLY.replace("pdk: [sky130hd, gf180mcu]", "pdk: sky130hd"), "axes.pdk", "non-empty list"),
    "axes-unknown": (NIGHTLY.replace("kan.table_bits:", "kan.table_bit:"), "axes.kan.table_bit",
                     "(did you mean 'kan.table_bits'?)"),
    "axes-value": (NIGHTLY.replace("[2, 3, 4,", "[2, 99, 4,"), "axes.kan.table_bits", "in 1..16 (got 99)"),
    "axes-array": (NIGHTLY.replace("[2x2, 4x4]", "[2x2, 4by4]"), "axes.array", "'RxC'"),
    "axes-pdk": (NIGHTLY.replace("[sky130hd, gf180mcu]", "[sky130hd, gf180]"), "axes.pdk", "did you mean 'gf180mcu'"),
    "axes-nan": (NIGHTLY.replace("kan.table_bits: [2, 3, 4, 6, 8, 12, 16]", "flow.clock_period_ns: [.nan]"),
                 "axes.flow.clock_period_ns", "finite"),
    "axes-nested": (NIGHTLY.replace("[2x2, 4x4]", "[[2x2]]"), "axes.array", "'RxC'"),
    "axes-too-many": (NIGHTLY.replace("kan.table_bits: [2, 3, 4, 6, 8, 12, 16]",
                                      "flow.seed: [" + ", ".join(map(str, range(3000))) + "]"), "axes",
                      "at most 10000 points (got 12000)"),
    "zip-lengths": (NIGHTLY + "mode: zip\n", "axes", "lists of one length in zip mode"),
    "rules-mapping": (NIGHTLY + "rules: {when: {}}\n", "rules", "must be a list"),
    "rules-unknown": (NIGHTLY + "rules:\n  - when: {array: 4x4}\n    sett: {flow.stop_after: synth}\n",
                      "rules[0].sett", "(did you mean 'set'?)"),
    "rules-no-set": (NIGHTLY + "rules:\n  - when: {array: 4x4}\n", "rules[0].set", "must be given"),
    "rules-when-axis": (NIGHTLY + "rules:\n  - when: {arrays: 4x4}\n    set: {flow.stop_after: synth}\n",
                        "rules[0].when.arrays", "(did you mean 'array'?)"),
    "rules-when-value": (NIGHTLY + "rules:\n  - when: {array: 4by4}\n    set: {flow.stop_after: synth}\n",
                         "rules[0].when.array", "'RxC'"),
    "rules-set-value": (NIGHTLY + "rules:\n  - when: {array: 4x4}\n    set: {flow.stop_after: synthh}\n",
                        "rules[0].set.flow.stop_after", "did you mean 'synth'"),
    "duplicate-axis": (NIGHTLY + "  pdk: [osu018]\n", "axes.pdk", "lines 11 and 12"),
    "empty": ("", "<top>", "got an empty file"),
    "alias-bomb": (ALIAS_BOMB + NIGHTLY.replace("[2x2, 4x4]", "*h"), "e", "at most 10000 values"),
    "alias-bomb-in-axis": (NIGHTLY.replace("[2x2, 4x4]", BOMB_VALUE), "axes.array", "at most 10000 values"),
}


def no_run(*args, **kwargs):
    raise AssertionError("a broken sweep file got as far as running its points")


@pytest.mark.parametrize("case", sorted(SWEEP_FAULTS))
def test_every_sweep_file_fault(in_tmp, capsys, monkeypatch, case):
    monkeypatch.setattr("flow.sweep.run_sweep", no_run)
    text, key, expected = SWEEP_FAULTS[case]
    path = in_tmp / f"{case}.yaml"
    path.write_text(text)
    code, out, err = run_cli(capsys, in_tmp, ["sweep", str(path), "--out", str(in_tmp / "reports")])
    assert_one_line_error(code, out, err, path, key, expected)


def test_base_config_faults_name_the_base_file(in_tmp, capsys, monkeypatch):
    monkeypatch.setattr("flow.sweep.run_sweep", no_run)
    base = in_tmp / "base.yaml"
    base.write_bytes(b"kan: {grid: 3}\nkan: {grid: 4}\n")
    sweep = in_tmp / "s.yaml"
    sweep.write_text("base: base.yaml\naxes: {kan.table_bits: [2, 3]}\n")
    code, out, err = run_cli(capsys, in_tmp, ["sweep", str(sweep), "--out", str(in_tmp / "reports")])
    assert_one_line_error(code, out, err, base.resolve(), "kan", "lines 1 and 2")


def test_model_config_named_in_the_file_may_live_in_any_file_name(in_tmp):
    from kan import config as model_config
    path = in_tmp / "my model.yaml"
    path.write_text("name: digits-small\narray: 2x2\n")
    assert model_config.load(path).name == "digits-small"
    path.write_text("array: 2x2\n")
    with pytest.raises(config.ConfigError, match=r"name: must be .* \(got 'my model' from the file name; set name:\)"):
        model_config.load(path)


def test_model_config_faults(in_tmp, capsys):
    for data, key, expected in [(b"", "<top>", "empty file"), (b"task: digits\ntask: symbolic\n", "task", "lines"),
                                (b"train: {lr: .inf}\n", "train.lr", "finite"), (b"name: ..\n", "name", "'.'")]:
        path = in_tmp / "m.yaml"
        path.write_bytes(data)
        assert_one_line_error(*run_cli(capsys, in_tmp, ["train", str(path)]), path, key, expected)


# ---------------------------------------------------------------- the real entry point, in a subprocess

def flow_executable() -> list[str]:
    exe = Path(sys.executable).parent / "flow"
    return [str(exe)] if exe.exists() else FLOW


@pytest.mark.parametrize("case,argv", [("empty", ["rtl"]), ("invalid-utf8", ["run"]), ("alias-bomb-kan", ["run"]),
                                       ("duplicate-nested", ["rtl"]), ("nul", ["verify"])])
def test_real_entry_point(tmp_path, case, argv):
    data, key, expected = FILE_FAULTS[case]
    path = tmp_path / f"{case}.yaml"
    path.write_bytes(data)
    res = subprocess.run([*flow_executable(), *argv, str(path)], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)
    assert_one_line_error(res.returncode, res.stdout, res.stderr, path, key, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_real_entry_point_inf_clock(tmp_path):
    path = tmp_path / "inf.yaml"
    path.write_text(b3_with("flow.clock_period_ns", ".inf"))
    res = subprocess.run([*flow_executable(), "run", str(path), "--stop-after", "synth"], capture_output=True,
                         text=True, cwd=tmp_path, timeout=120)
    assert_one_line_error(res.returncode, res.stdout, res.stderr, path, "flow.clock_period_ns",
                          "must be a finite number > 0 (got inf)")


def test_schema_documents_sweep_keys_and_survives_a_closed_pipe():
    flow = " ".join(flow_executable())
    res = subprocess.run(f"{flow} schema --json | head -3", shell=True, capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert res.stdout.splitlines() == ["[", " {", '  "file": "config",'] and res.stderr == "", res.stderr
    # `true` has closed the pipe long before Python starts: every write fails (EPIPE), deterministically
    for argv in ("schema --json", "schema"):
        res = subprocess.run(f"{flow} {argv} | true; echo ${{PIPESTATUS[0]}}", shell=True, executable="/bin/bash",
                             capture_output=True, text=True, cwd=REPO, timeout=60)
        assert (res.stdout, res.stderr) == ("141\n", ""), res.stderr
    text = subprocess.run([*flow_executable(), "schema"], capture_output=True, text=True, check=True).stdout
    for key in ("name", "base", "mode", "set", "axes", "rules", "rules[].when", "rules[].set"):
        assert any(line.startswith(f"{key} ") for line in text.split("# sweep file")[1].splitlines()), key
    assert "at most 2^input_bits" in text


def test_shipped_configs_and_sweeps_still_load():
    for path in sorted((REPO / "configs").glob("*.yaml")):
        data = config.read_yaml(path)
        if "base" in data:
            assert config.read_sweep(path).size >= 1
        else:
            config.load(path)
