"""`flow` command line: one subcommand per job; user errors exit 2 with one line, no traceback."""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import sys
import time
import warnings
from pathlib import Path

from . import config as config_mod
from . import procs
from .config import ConfigError
from .errors import FlowError, ToolMissing


def _load(path: str, overrides: dict | None = None) -> config_mod.Config:
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda msg, *a, **k: print(f"warning: {msg}", file=sys.stderr)
        return config_mod.load(path, overrides)


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


def cmd_run(args) -> int:
    from dataclasses import replace

    from .physical import run_config

    cfg = _load(args.config, {"pdk": args.pdk} if args.pdk else None)
    if args.pdk and args.pdk != config_mod.read_yaml(args.config).get("pdk", config_mod.Config.pdk):
        cfg = replace(cfg, name=f"{cfg.name}-{cfg.pdk}")     # its own report and build folders
    if args.stop_after:
        cfg = replace(cfg, flow=replace(cfg.flow, stop_after=args.stop_after))
    out = Path(args.out) / cfg.name
    res = run_config(cfg, out, verify=not args.no_verify, pdk_root=args.pdk_root,
                     work_dir=Path(args.work) if args.work else None)
    from .report import human

    m = res["metrics"]
    headline = ("cell_area", "cells", "fpga_lut4", "fpga_ff", "fpga_dsp", "fpga_bram", "fmax", "fmax_spread", "wns",
                "failed_nets")
    shown = [f"{k} {human(m[k]['value'])} {m[k]['unit']}" for k in headline
             if k in m and isinstance(m[k]["value"], (int, float))]
    if res["status"] != "ok":
        print(f"error: {res['error']}", file=sys.stderr)
        print(f"FAILED: report {out / 'summary.md'}")
        return 1
    print(f"ok: {', '.join(shown)}; {m['runtime_total']['value']:.1f} s; report {out / 'summary.md'}")
    return 0


def cmd_pdk(args) -> int:
    from . import pdks

    if args.pdk_command == "install":
        if args.source:
            dest, n = pdks.install(args.name, args.source, args.dest)
        else:
            dest, n = pdks.download(args.name, args.url, args.dest)
        info = pdks.resolve(args.name, dest)
        print(f"{args.name}: {n} files installed under {dest} ({info.library}, liberty {info.liberty_files[0]})")
        return 0
    for name, library, where in pdks.listing(args.pdk_root):
        print(f"{name:<9} {library:<24} {where}")
    return 0


def cmd_schema(args) -> int:
    files = (("config", "design config (configs/b3.yaml)", config_mod.schema_rows()),
             ("sweep", "sweep file (configs/nightly.yaml): each dotted key is a config key above",
              config_mod.sweep_schema_rows()))
    if args.json:
        print(json.dumps([dict(zip(("file", "key", "type", "range", "unit", "help"), (file, *r)))
                          for file, _, rows in files for r in rows], indent=1))
        return 0
    width = max(len(r[0]) for _, _, rows in files for r in rows)
    for _, title, rows in files:
        print(f"# {title}")
        for key, kind, rng, unit, help_ in rows:
            detail = f"{kind}, {rng}" + (f", {unit}" if unit else "") if kind != "section" else "section"
            print(f"{key:<{width}}  {help_}\n{'':<{width}}  [{detail}]")
    return 0


def cmd_sweep(args) -> int:
    from .report import write_report
    from .sweep import cached_failure_hint, load_sweep, run_sweep

    start = time.monotonic()
    sweep = load_sweep(args.sweep, verify=not args.no_verify, pdk_root=args.pdk_root)
    if args.partition and args.scheduler != "slurm":
        raise ConfigError("--partition: a Slurm partition needs --scheduler slurm")
    if args.scheduler == "slurm" and not shutil.which("srun"):
        raise ToolMissing("srun", "apt-get install -y slurm-client (on a login node of the cluster)")
    again = _command_line(args, drop=("--retry-failed", "--force"))
    results = run_sweep(sweep, Path(args.out), jobs=args.jobs or os.cpu_count() or 1, timeout=args.timeout,
                        force=args.force, retry_failed=args.retry_failed, verify=not args.no_verify,
                        pdk_root=args.pdk_root, scheduler=args.scheduler, partition=args.partition,
                        retry_hint=again)
    out = Path(args.out) / sweep.name
    write_report(out / "points", out, f"sweep {sweep.name}", keys={pt.key for pt in sweep.points})
    failed = {k: r for k, r in results.items() if r["status"] != "ok"}
    print(f"sweep {sweep.name}: {len(results)} points, {len(results) - len(failed)} ok, {len(failed)} failed, "
          f"{time.monotonic() - start:.1f} s; report: {out / 'index.html'}")
    for r in failed.values():
        print(f"  FAILED {r['name']}{' (cached)' if r.get('cached') else ''}: {r['error']} (log: {r['log']})")
    cached = [r for r in failed.values() if r.get("cached")]
    if cached:
        print(f"  {cached_failure_hint(cached, again)}")
    return 1 if failed else 0


def cmd_report(args) -> int:
    from .report import check_comparable, compare, write_report

    results = Path(args.results)
    if results.is_dir() and (results / "metrics.json").is_file() and not (results / "points").is_dir():
        from .physical import rewrite_report  # a `flow run` folder: summary.md + portable metrics.json
        print(f"report: {rewrite_report(results)}")
        return 0
    if results.is_dir():
        if not (results / "points").is_dir():
            raise FlowError(f"{results}: neither a sweep report (points/) nor a `flow run` report (metrics.json)")
        write_report(results / "points", results, f"sweep {results.name}")
        print(f"report: {results / 'index.html'}")
        results = results / "results.csv"
    if not results.exists():
        raise FlowError(f"{results}: no results.csv here (give a sweep report folder or its results.csv)")
    if not args.compare:
        return 0
    other = Path(args.compare)
    other = other / "results.csv" if other.is_dir() else other
    if not other.is_file():
        raise FlowError(f"{other}: not found (--compare takes a sweep report folder or its results.csv)")
    cmp = compare(results, other, args.threshold, runtime=args.runtime)
    check_comparable(cmp, results, other)
    print(f"compare {other} (before) -> {results} (after): {cmp.common} points in common")
    for label, names in (("added", cmp.added), ("removed", cmp.removed)):
        if names:
            print(f"points {label} ({len(names)}): {', '.join(names)}")
    print(cmp.table(), end="")
    what = "metrics (quality of results, run times and memory)" if args.runtime else "quality-of-results metrics"
    left_out = "" if args.runtime else " (run times and memory left out: --runtime adds them)"
    print(f"{len(cmp.moved)} {what} moved more than {args.threshold:.0%}{left_out}, {len(cmp.status)} status changes")
    return 1 if cmp.moved or cmp.status else 0


def cmd_train(args) -> int:
    from kan import config as model_config
    from kan.train import model_path, train

    cfg = model_config.load(args.config)
    model, seconds = train(cfg)
    path = Path(args.output) / "model.json" if args.output else model_path(cfg)
    model.save(path)
    m = model.meta
    metric = "accuracy %.2f %%" if m["task"] == "classification" else "RMSE %.5f"
    print(f"{path}: KAN {'-'.join(map(str, m['widths']))}, test {metric % m['float_test']}, "
          f"train {metric % m['float_train']}, {cfg.train.epochs} epochs in {seconds:.1f} s")
    return 0


def cmd_accuracy(args) -> int:
    from kan import accuracy as acc
    from kan import config as model_config
    from kan.train import model_path

    path = Path(args.model)
    if path.suffix in (".yaml", ".yml"):
        path = model_path(model_config.load(path))
    model, cfg = acc.load_model(path)
    rows = acc.sweep(model, cfg, acc.parse_bits(args.table_bits), qat=args.qat)
    metric, flt = acc.metric_name(model.meta["task"]), model.meta["float_test"]
    print(f"{cfg.name}: test {metric} vs table bits (float {flt:.5g})")
    for r in rows:
        qat = f"  qat {r['qat']:.5g}" if "qat" in r else ""
        print(f"  b={r['table_bits']:2d}  integer {r['quantized']:.5g}{qat}")
    out_dir = Path(args.output) if args.output else path.parent
    for out in acc.write_report(rows, model, cfg, out_dir):
        print(f"wrote {out}")
    if args.rtl is None:
        return 0
    from .rtl_inference import rtl_report
    res, out = rtl_report(model, cfg, args.rtl, Path("build") / "models" / cfg.name / "rtl_inference", out_dir)
    print(f"RTL ({cfg.array.rows}x{cfg.array.cols}, b={cfg.kan.table_bits}): {len(res['outputs'])} inputs, "
          f"{res['passes']} passes, {res['mismatches']} mismatches, outputs exact: {res['exact']}, "
          f"score RTL {res['rtl_score']:.5g} = golden {res['golden_score']:.5g} ({res['seconds']:.1f} s); wrote {out}")
    return 0 if res["exact"] else 1


EXAMPLES = {
    "rtl": "  flow rtl configs/b3.yaml -o build/b3-rtl",
    "verify": "  flow verify configs/tiny.yaml --vectors 500 --seed 7",
    "run": "  flow run configs/b3.yaml --pdk gf180mcu --stop-after synth\n  flow run configs/tiny.yaml -o /tmp/reports",
    "sweep": "  flow sweep configs/ci-sweep.yaml --jobs 2\n"
             "  flow sweep configs/nightly.yaml --timeout 7200 --retry-failed",
    "report": "  flow report reports/nightly\n"
              "  flow report reports/nightly --compare reports/nightly-prev --threshold 0.02\n"
              "  flow report reports/b3                  (a `flow run` folder: summary.md, metrics.json)",
    "train": "  flow train configs/models/digits.yaml",
    "accuracy": "  flow accuracy reports/models/digits/model.json --table-bits 2..8 --qat --rtl 20",
    "pdk": "  flow pdk list\n  flow pdk install sky130hd",
    "pdk install": "  flow pdk install sky130hd                 (download from lambdapdk's own source)\n"
                   "  flow pdk install gf180mcu --from ../shared/pdks",
    "pdk list": "  flow pdk list --pdk-root ../shared/pdks",
    "schema": "  flow schema | less\n  flow schema --json > schema.json",
}


def version_line() -> str:
    from importlib import metadata

    from .versions import flow_commit
    try:
        version = metadata.version("kan-dse")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"flow (kan-dse) {version}, commit {flow_commit()}"


class VersionAction(argparse.Action):
    """--version, computed only when asked (the commit needs git)."""
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_line())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flow", description="Design-space exploration of KAN systolic-array accelerators on open PDKs.")
    parser.add_argument("--version", action=VersionAction, help="print the version and git commit, then exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("rtl", help="generate the Verilog of a config",
                       description="Generate kan_array.v (modules kan_bspline, kan_pe, kan_array) for CONFIG.")
    p.add_argument("config", help="YAML config file, e.g. configs/b3.yaml")
    p.add_argument("-o", "--out", "--output", dest="output", metavar="DIR",
                   help="output folder (default build/<name>/rtl)")
    p.set_defaults(func=cmd_rtl)

    p = sub.add_parser("verify", help="prove the generated RTL bit-exact against the golden model",
                       description="Generate the RTL and run the cocotb testbench (Icarus): random coefficients "
                                   "are loaded, corner and random inputs streamed, every output compared.")
    p.add_argument("config", help="YAML config file")
    p.add_argument("--vectors", type=int, metavar="N", help="random vectors (default flow.verify_vectors)")
    p.add_argument("--seed", type=int, help="stimulus seed (default flow.seed)")
    p.add_argument("-o", "--out", "--work", dest="work", metavar="DIR",
                   help="work folder: RTL, simulation build and log (default build/<name>/verify)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("sweep", help="run a grid of design points in parallel, cached and resumable",
                       description="Run every point of a sweep file (base config x axes) as its own flow run, "
                                   "in parallel; finished points are cached by content (config, generator, tool "
                                   "versions, PDK data), so a re-run or a resumed run only does what is missing. "
                                   "Writes reports/<sweep>/ (results.csv, table.md, index.html, plots).")
    p.add_argument("sweep", help="sweep YAML file, e.g. configs/nightly.yaml")
    p.add_argument("--jobs", "-j", type=int, metavar="N", help="points run at once (default: the machine's cores)")
    p.add_argument("--timeout", type=float, metavar="S", help="kill a point after S seconds and record it failed")
    p.add_argument("--force", action="store_true", help="rerun every point, cached or not")
    p.add_argument("--retry-failed", action="store_true", help="rerun points whose stored result is a failure")
    p.add_argument("--no-verify", action="store_true", help="skip the RTL and gate-level simulation of each point")
    p.add_argument("--scheduler", choices=("local", "slurm"), default="local",
                   help="SiliconCompiler scheduler of each point's steps (slurm: submit them to a Slurm cluster)")
    p.add_argument("--partition", metavar="NAME", help="Slurm partition of the jobs (default: the cluster's default)")
    p.add_argument("--pdk-root", metavar="DIR", help="folder holding lambdapdk/<pdk>/... (see `flow pdk`)")
    p.add_argument("-o", "--out", "--output", dest="out", default="reports", metavar="DIR",
                   help="report root (default reports/)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("report", help="rebuild a sweep report; compare two sweeps",
                       description="Rebuild results.csv/table.md/index.html of a sweep folder from its stored "
                                   "points (or summary.md/metrics.json of a `flow run` folder), without running "
                                   "any tool; with --compare, a Before/After/Delta table of every quality-of-results "
                                   "metric that moved more than --threshold, and the points added or removed. "
                                   "Exit 1 if a metric moved or a point changed status, 2 if no point is common.")
    p.add_argument("results", help="sweep report folder (reports/<sweep>) or its results.csv")
    p.add_argument("--compare", metavar="OTHER", help="another sweep folder or results.csv (e.g. last night's)")
    p.add_argument("--threshold", type=float, default=0.05, help="relative change to flag (default 0.05 = 5%%)")
    p.add_argument("--runtime", action="store_true",
                   help="also compare run times, tool times and peak memory (left out by default: they move run "
                        "to run)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("train", help="train a KAN model config and save it under reports/models/<name>/",
                       description="Train the float KAN of a model config (configs/models/*.yaml) and save "
                                   "weights + config + test score as reports/models/<name>/model.json.")
    p.add_argument("config", help="model YAML file, e.g. configs/models/digits.yaml")
    p.add_argument("-o", "--out", "--output", dest="output", metavar="DIR",
                   help="output folder (default reports/models/<name>)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("accuracy", help="accuracy (or RMSE) of a trained model vs basis-table bits",
                       description="Quantize a trained model onto the array's integer formats for each table "
                                   "width and score it by bit-exact golden-model inference on the test set; "
                                   "writes accuracy_vs_table_bits.{csv,md,png,svg} next to the model.")
    p.add_argument("model", help="model.json from `flow train`, or its model YAML")
    p.add_argument("--table-bits", default="1..16", metavar="LO..HI", help="widths to score (default 1..16)")
    p.add_argument("--qat", action="store_true", help="also score after quantization-aware fine-tuning")
    p.add_argument("--rtl", type=int, metavar="N", help="also stream N test inputs (0 = all) through the "
                   "generated Verilog at the config's table_bits and check them against the golden model")
    p.add_argument("-o", "--out", "--output", dest="output", metavar="DIR",
                   help="report folder (default: the model's folder)")
    p.set_defaults(func=cmd_accuracy)

    p = sub.add_parser("run", help="RTL -> verify -> synthesis -> place -> route -> timing, one design point",
                       description="Run CONFIG through a SiliconCompiler ASIC flow (RTL generation, cocotb "
                                   "verification of RTL and gates, Yosys synthesis, OpenSTA, qflow place and route) "
                                   "and write reports/<name>/ (metrics.json, summary.md, logs, netlists, DEF, PNG).")
    p.add_argument("config", help="YAML config file, e.g. configs/b3.yaml")
    p.add_argument("--no-verify", action="store_true", help="skip the RTL and gate-level simulations")
    p.add_argument("--stop-after", choices=("synth", "place", "route"), help="override flow.stop_after")
    p.add_argument("--pdk", choices=config_mod.PDKS, help="override the config's pdk; the run is then named "
                   "<name>-<pdk> (reports/<name>-<pdk>/, build/<name>-<pdk>/)")
    p.add_argument("--pdk-root", metavar="DIR", help="folder holding lambdapdk/<pdk>/... (see `flow pdk`)")
    p.add_argument("-o", "--out", "--output", dest="out", default="reports", metavar="DIR",
                   help="report root (default reports/)")
    p.add_argument("--work", metavar="DIR", help="SiliconCompiler build folder (default build/<name>/sc)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("pdk", help="install or list the standard-cell data of the PDKs",
                       description="`flow pdk install NAME` downloads lambdapdk's archive for its pinned version "
                                   "and keeps the subset of NAME the flow needs (liberty, tech LEF, cell LEF), each "
                                   "file checked against MANIFEST.tsv, in ~/.local/share/kan-dse/pdks/lambdapdk; "
                                   "`--from DIR` copies from a local folder instead; `flow pdk list` shows where "
                                   "each PDK resolves.")
    pdk_sub = p.add_subparsers(dest="pdk_command", required=True, metavar="ACTION")
    q = pdk_sub.add_parser("install", help="download (or copy --from) a PDK's data into the user data folder")
    q.add_argument("name", help="sky130hd, gf180mcu or asap7")
    q.add_argument("--from", dest="source", metavar="DIR",
                   help="copy from this folder holding lambdapdk/<pdk>/... (e.g. ../shared/pdks) instead of "
                        "downloading")
    q.add_argument("--url", metavar="URL", help="archive to download (default $KAN_PDK_URL, else the one lambdapdk "
                   "declares for its installed version: github.com/siliconcompiler/lambdapdk, tag v<version>)")
    q.add_argument("-o", "--out", "--dest", dest="dest", metavar="DIR",
                   help="install root (default ~/.local/share/kan-dse/pdks/lambdapdk)")
    q.set_defaults(func=cmd_pdk)
    q = pdk_sub.add_parser("list", help="where each PDK's data resolves")
    q.add_argument("--pdk-root", metavar="DIR", help="look only here (as `flow run --pdk-root`)")
    q.set_defaults(func=cmd_pdk)

    p = sub.add_parser("schema", help="list every config and sweep-file key with its type, range, unit and help")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_schema)
    for name, example in EXAMPLES.items():
        cmd = sub.choices[name.split()[0]]
        if " " in name:
            cmd = next(a for a in cmd._actions if isinstance(a, argparse._SubParsersAction)).choices[name.split()[1]]
        cmd.epilog, cmd.formatter_class = "example:\n" + example, argparse.RawDescriptionHelpFormatter
    return parser


def _command_line(args, drop: tuple[str, ...] = ()) -> str:
    """The command as the user typed it (without the flags in `drop`), to print in a hint to run it again."""
    return shlex.join(["flow", *(a for a in args.argv if a not in drop)])


INTERRUPTIBLE = {"run": "the steps that finished are reused", "sweep": "the finished points are kept"}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    if args.command in INTERRUPTIBLE:
        procs.interruptible()
    try:
        code = args.func(args)
        sys.stdout.flush()          # here, not at exit: a reader that went away surfaces as BrokenPipeError below
        return code
    except procs.Interrupted as exc:
        procs.stop_all()
        print(f"interrupted ({exc}): stopped every worker and tool; {INTERRUPTIBLE[args.command]}: resume with "
              f"`{_command_line(args, drop=('--force',))}`", file=sys.stderr)
        return exc.exit_code
    except FlowError as exc:            # ConfigError included: exit 2
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # the reader went away (`flow schema | head`): stop quietly, as a Unix tool ended by SIGPIPE does; stdout
        # goes to /dev/null so that the interpreter's last flush does not raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
