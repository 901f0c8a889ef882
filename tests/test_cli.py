"""The command line itself: --version, an example in every help, -o and --out alike everywhere."""
import argparse
import re
import subprocess

import pytest

from flow.cli import build_parser

from .conftest import FLOW, REPO


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                for inner, p in _subparsers(sub):
                    yield f"{name} {inner}", p


def test_version_names_the_commit():
    res = subprocess.run([*FLOW, "--version"], capture_output=True, text=True, cwd=REPO)
    commit = subprocess.run(["git", "log", "-1", "--format=%h", "--abbrev=10", "--", ".", ":(exclude)reports"],
                            capture_output=True, text=True, cwd=REPO).stdout.strip()     # the code's last commit
    assert res.returncode == 0 and re.fullmatch(rf"flow \(kan-dse\) \S+, commit {commit}(\+dirty)?\n", res.stdout)


def test_every_subcommand_help_has_an_example():
    subs = dict(_subparsers(build_parser()))
    assert {"rtl", "verify", "run", "sweep", "report", "train", "accuracy", "pdk", "pdk install", "pdk list",
            "schema"} <= set(subs)
    for name, sub in subs.items():
        text = sub.format_help()
        assert "example:\n  flow " + name.split()[0] in text, name


@pytest.mark.parametrize("argv, dest", [
    (["rtl", "c.yaml"], "output"), (["verify", "c.yaml"], "work"), (["run", "c.yaml"], "out"),
    (["sweep", "s.yaml"], "out"), (["train", "m.yaml"], "output"), (["accuracy", "m.json"], "output"),
    (["pdk", "install", "sky130hd"], "dest")])
def test_o_and_out_are_the_same_option(argv, dest):
    parser = build_parser()
    short, long_ = parser.parse_args([*argv, "-o", "X"]), parser.parse_args([*argv, "--out", "X"])
    assert getattr(short, dest) == getattr(long_, dest) == "X"


@pytest.mark.eda
def test_run_terminal_has_no_tool_chatter(tmp_path):
    """SiliconCompiler's 'Setting pdk to' / 'Adding sky130hd to [asic,asiclib]' WARNINGs and Yosys command echoes
    stay out of the terminal: the flow sets the pdk and library list itself, and Yosys writes to its log."""
    res = subprocess.run([*FLOW, "run", "configs/tiny.yaml", "--stop-after", "synth", "--no-verify", "-o",
                          str(tmp_path / "r"), "--work", str(tmp_path / "b")], capture_output=True, text=True,
                         cwd=REPO)
    out = res.stdout + res.stderr
    assert res.returncode == 0 and res.stdout.splitlines()[-1].startswith("ok: cell_area ")
    assert "WARNING" not in out and "Running command" not in out and "Setting pdk" not in out
