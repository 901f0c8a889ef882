"""`flow` command line: one subcommand per job; user errors exit 2 with one line, no traceback."""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

from . import config as config_mod
from .config import ConfigError
from .errors import FlowError


def _load(path: str) -> config_mod.Config:
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda msg, *a, **k: print(f"warning: {msg}", file=sys.stderr)
        return config_mod.load(path)


def cmd_rtl(args) -> int:
    from rtl_gen.generator import write_rtl

    cfg = _load(args.config)
    start = time.monotonic()
    out = Path(args.output or Path("build") / cfg.name / "rtl")
    path = write_rtl(cfg.params, out)
    p = cfg.params
    print(f"{path}: {p.rows}x{p.cols} array, table {p.table_depth}x{p.table_cols}x{p.table_bits} bit, "
          f"accumulator {p.acc_width} bit, latency {p.latency} cycles "
          f"({time.monotonic() - start:.2f} s)")
    return 0


def cmd_verify(args) -> int:
    from rtl_gen.generator import write_rtl

    from .verify import run_cocotb

    cfg = _load(args.config)
    work = Path(args.work or Path("build") / cfg.name / "verify")
    rtl = write_rtl(cfg.params, work / "rtl")
    vectors = args.vectors or cfg.flow.verify_vectors
    seed = cfg.flow.seed if args.seed is None else args.seed
    res = run_cocotb(cfg.params, [rtl], work, vectors=vectors, seed=seed)
    for m in res.first_mismatches:
        print(f"mismatch: cycle {m['cycle']} {m['pe']} x={m['x']}: expected {m['expected']}, got {m['got']}")
    status = "PASS" if res.passed else "FAIL"
    print(f"{status}: {res.vectors} vectors through {cfg.params.rows}x{cfg.params.cols} kan_array, "
          f"{res.mismatches} mismatches, {res.seconds:.1f} s (log: {res.log})")
    return 0 if res.passed else 1


def cmd_schema(args) -> int:
    rows = config_mod.schema_rows()
    if args.json:
        print(json.dumps([dict(zip(("key", "type", "range", "unit", "help"), r)) for r in rows], indent=1))
        return 0
    width = max(len(r[0]) for r in rows)
    for key, kind, rng, unit, help_ in rows:
        detail = f"{kind}, {rng}" + (f", {unit}" if unit else "") if kind != "section" else "section"
        print(f"{key:<{width}}  {help_}\n{'':<{width}}  [{detail}]")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flow", description="Design-space exploration of KAN systolic-array accelerators on open PDKs.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("rtl", help="generate the Verilog of a config",
                       description="Generate kan_array.v (modules kan_bspline, kan_pe, kan_array) for CONFIG.")
    p.add_argument("config", help="YAML config file, e.g. configs/b3.yaml")
    p.add_argument("-o", "--output", metavar="DIR", help="output folder (default build/<name>/rtl)")
    p.set_defaults(func=cmd_rtl)

    p = sub.add_parser("verify", help="prove the generated RTL bit-exact against the golden model",
                       description="Generate the RTL and run the cocotb testbench (Icarus): random coefficients "
                                   "are loaded, corner and random inputs streamed, every output compared.")
    p.add_argument("config", help="YAML config file")
    p.add_argument("--vectors", type=int, metavar="N", help="random vectors (default flow.verify_vectors)")
    p.add_argument("--seed", type=int, help="stimulus seed (default flow.seed)")
    p.add_argument("--work", metavar="DIR", help="work folder (default build/<name>/verify)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("schema", help="list every config key with its type, range, unit and help")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FlowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
