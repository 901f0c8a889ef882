"""python -m kan.gpu accuracy MODEL.json [--table-bits 1..16] [--layer table|fused] [--device cpu|cuda]

Prints the model's test score on the torch table layers for each table width (compare: `flow accuracy`).
"""
from __future__ import annotations

import argparse
import sys

from config_schema.errors import ConfigError, FlowError

from . import MISSING_TORCH


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kan.gpu", description="KAN inference on the torch table layers")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("accuracy", help="test score vs table bits through the torch table layers")
    a.add_argument("model", help="model.json written by `flow train`")
    a.add_argument("--table-bits", default="1..16", help="'LO..HI' or a comma list (default 1..16)")
    a.add_argument("--layer", choices=("table", "fused", "fused-gather", "fused-mma"), default="table",
                   help="table: torch ops (embedding_bag); fused: a Triton kernel, mma where it fits, else gather "
                        "(GPU, or TRITON_INTERPRET=1 on CPU)")
    a.add_argument("--device", default="cpu", help="torch device (default cpu)")
    args = p.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        print(MISSING_TORCH, file=sys.stderr)
        return 2
    from kan.accuracy import parse_bits

    from .network import accuracy_rows
    try:
        rows = accuracy_rows(args.model, parse_bits(args.table_bits), args.layer, args.device)
    except (ConfigError, FlowError) as exc:
        print(exc, file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    print(f"{args.model}: test {rows[0]['metric']} on the torch '{args.layer}' layers ({args.device}), "
          f"float {rows[0]['float']:.5g}")
    for r in rows:
        print(f"  b={r['table_bits']:2d}  integer {r['quantized']:.5g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
