"""Sweep reports: results.csv, table.md, index.html and the plots; `flow report --compare`.

results.csv has every metric of every point (`<metric> [<unit>]` columns, one name per metric, today's names for
points stored before a rename: flow/metrics.py RENAMED); index.html shows the HEADLINE columns first and the full
set one click away; the plots are the PLOTS table. Both tables are meant to grow (one line per column or plot).
Every path written is relative to the report folder, and every file a link points to is copied under
`<report>/points/<key>/`, so a report folder can be committed, copied or served as is.
"""
from __future__ import annotations

import base64
import html
import json
import math
import numbers
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.hashsalt"] = "kan-dse"     # fixed element ids: the same data gives the same SVG
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .config import ConfigError  # noqa: E402
from .errors import FlowError  # noqa: E402
from .metrics import HEADLINE_SOURCES, current_name, current_names  # noqa: E402
from .pdks import copy_log  # noqa: E402
from .versions import flow_commit, git_output  # noqa: E402

# The KANtize study at 28 nm, 16 -> 3 bit basis table: area x0.28, fmax x1.5.
REFERENCE_28NM = {"table_bits": [16, 3], "area_norm": [1.0, 0.28], "fmax_norm": [1.0, 1.5]}
# The KANtize study on FPGA, 8 -> 3 bit basis table: resources -36%, clock +50%.
REFERENCE_FPGA = {"table_bits": [8, 3], "resources_norm": [1.0, 0.64], "fmax_norm": [1.0, 1.5]}
AREA = "cell_area [um^2]"
DIE = "die_area [um^2]"
FMAX = "fmax [MHz]"
ENERGY = "energy_per_inference [pJ]"
# Not quality of results: run times, tool times and cache hits move from run to run with the same code.
NOT_QOR = re.compile(r"^(runtime|memory|macro_cache_hits|seconds)|tasktime|\[s\]$")


@dataclass(frozen=True)
class Column:
    """A headline column of index.html: `csv` is the results.csv column, `scale` converts to the header's unit,
    `stage` names the step the number comes from ("timing": per point, post-route or pre-route)."""
    label: str
    csv: str
    scale: float = 1.0
    stage: str = ""


HEADLINE = (
    Column("point", "point"),
    Column("status", "status"),
    Column("PDK", "pdk"),
    Column("array", "array"),
    Column("table bits", "table_bits"),
    Column("cell area [mm^2]", AREA, 1e-6, "synthesis"),
    Column("die area [mm^2]", DIE, 1e-6, "floorplan"),
    Column("fmax [MHz]", FMAX, stage="timing"),
    Column("WNS [ns]", "wns [ns]", stage="timing"),
    Column("failed nets", "failed_nets [nets]", stage="route"),
    Column("energy / inference [pJ]", "energy_per_inference [pJ]", stage="power"),
)


# ---------------------------------------------------------------- paths

def portable(text: str, root: Path | None = None) -> str:
    """`text` with machine paths made relative: below `root` relative to it, a work tree's build/ or reports/
    folder from there on (`/home/x/kan-dse/build/.cache/...` -> `build/.cache/...`)."""
    if not isinstance(text, str) or "/" not in text:
        return text
    if root is not None:
        text = text.replace(str(Path(root).resolve()) + "/", "").replace(str(Path(root).resolve()), ".")
    return re.sub(r"(?<![\w.])/(?:[^\s,;:'\"()/]+/)*?(build|reports)/", r"\1/", text)


def portable_tree(data, root: Path | None = None):
    """`portable` applied to every string of a JSON-like structure."""
    if isinstance(data, dict):
        return {k: portable_tree(v, root) for k, v in data.items()}
    if isinstance(data, list):
        return [portable_tree(v, root) for v in data]
    return portable(data, root) if isinstance(data, str) else data


# ---------------------------------------------------------------- numbers

def human(v, scale: float = 1.0) -> str:
    """A number as a reader wants it: 143,550 / 150.2 / 3.34 / 0.0021; never 1.06e+05; NaN/None as ''."""
    if v is None or isinstance(v, bool) or not isinstance(v, numbers.Number):
        return "" if v is None else str(v)
    if isinstance(v, float) and not math.isfinite(v):
        return ""
    v = v * scale if scale != 1.0 else v
    if isinstance(v, numbers.Integral) or (float(v).is_integer() and abs(v) >= 1000):
        return f"{int(v):,}"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a == 0:
        return "0"
    text = f"{v:.{max(0, 3 - int(math.floor(math.log10(a))))}f}"     # 4 significant digits, no exponent
    return text.rstrip("0").rstrip(".") if "." in text else text


def is_number(v) -> bool:
    """Any int/float incl. numpy scalars, but not bool and not NaN."""
    return isinstance(v, numbers.Number) and not isinstance(v, bool) and not (
        isinstance(v, float) and math.isnan(v)) and math.isfinite(float(v))


# ---------------------------------------------------------------- the frame

def load_points(points_dir: Path, keys: set[str] | None = None) -> list[dict]:
    """The stored point results; `keys` keeps only a sweep's current points (the store also caches old ones)."""
    return [json.loads(p.read_text()) for p in sorted(Path(points_dir).glob("*.json"))
            if keys is None or p.stem in keys]


def timing_stage(metrics: dict) -> str:
    """post-route / pre-route: what the headline fmax/WNS are (the flow says so in the fmax metric's tool)."""
    tool = metrics.get("fmax", {}).get("tool", "")
    return "post-route" if "postroute" in tool else "pre-route" if "preroute" in tool else ""


def to_frame(points: list[dict]) -> pd.DataFrame:
    rows = []
    for pt in points:
        cfg = pt["config"]
        metrics = current_names(pt.get("metrics", {}))     # a point stored before a rename: today's names
        key = pt.get("key", "")
        row = {"point": pt["name"], "status": pt["status"], "error": portable(pt.get("error") or ""),
               "pdk": _platform(cfg), "target": cfg.get("target", "asic"),
               "array": f"{cfg['array']['rows']}x{cfg['array']['cols']}",
               "table_bits": cfg["kan"]["table_bits"], "stop_after": cfg["flow"]["stop_after"],
               "physical": metrics.get("physical_mode", {}).get("value", ""),
               "timing_stage": timing_stage(metrics), "key": key,
               "report_dir": f"points/{key}" if key else "", "runtime [s]": pt.get("seconds")}
        for name, m in metrics.items():
            # versions: in the page header and the JSON; a headline metric's source: the headline name shows it
            if name in HEADLINE_SOURCES or name.startswith("version_"):
                continue
            if isinstance(m.get("value"), (int, float, str, bool)) or m.get("value") is None:
                value = portable(m["value"]) if isinstance(m.get("value"), str) else m.get("value")
                row[f"{name} [{m['unit']}]" if m.get("unit") else name] = value
        if "macro_place_relief_bspline" not in metrics and metrics.get("physical_mode", {}).get("value") == "tiled":
            # runs before the metric existed: the tiled cell_area's source names each macro's placement folder
            # (pe, bspline, glue), pnr-relief/ for a macro that routed only at relief density
            parts = str(metrics.get("cell_area", {}).get("source", "")).split(", ")
            if len(parts) == 3:
                row["macro_place_relief_bspline"] = "/pnr-relief/" in parts[1]
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df = df.sort_values(["pdk", "array", "table_bits"], kind="stable").reset_index(drop=True)
    if AREA in df and FMAX in df:
        df["area_delay [um^2*ns]"] = df[AREA] * 1000.0 / df[FMAX]
    for col, norm in ((AREA, "area_norm_16b"), (FMAX, "fmax_norm_16b")):
        _normalize_16b(df, col, norm)
    fpga = _fpga_normalized(df)    # FPGA points: normalized to their 8-bit point, as the KANtize FPGA figures
    for col, norm in ((FPGA_RESOURCES[3][0], "fpga_resources_norm_8b"), (FMAX, "fmax_norm_8b")):
        if f"{col} /8b" in fpga:
            df.loc[fpga.index, norm] = fpga[f"{col} /8b"]
    # energy (points whose power step ran): energy-delay product and energy normalized to the 16-bit point
    if ENERGY in df:
        if FMAX in df:
            df["energy_delay [pJ*ns]"] = df[ENERGY] * 1000.0 / df[FMAX]
        _normalize_16b(df, ENERGY, "energy_norm_16b")
    return df


def _normalize_16b(df: pd.DataFrame, col: str, norm: str) -> None:
    """df[norm] = df[col] / the same PDK's, array's and last step's ok 16-bit point (post-route fmax is not
    pre-route fmax); NaN without such a point."""
    if col not in df:
        return
    group = ["pdk", "array", "stop_after"]
    ref = df[(df.table_bits == 16) & (df.status == "ok")].set_index(group)[col]
    df[norm] = [v / ref.get(k, float("nan")) for v, k in zip(df[col], zip(*(df[g] for g in group)))]


def _platform(cfg: dict) -> str:
    """The `pdk` column: the PDK of an ASIC point, '<family>-<device>' of an FPGA point (config.Config.platform)."""
    return f"{cfg['fpga']['family']}-{cfg['fpga']['device']}" if cfg.get("target") == "fpga" else cfg["pdk"]


def markdown_table(df: pd.DataFrame) -> str:
    cell = lambda v: human(v) if isinstance(v, numbers.Number) and not isinstance(v, bool) else str(v)
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- plots

PDK_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
ARRAY_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def _style(df: pd.DataFrame):
    """(pdk, array) -> matplotlib style: one marker per PDK, one colour per array size."""
    pdks, arrays = sorted(set(df.pdk)), sorted(set(df.array), key=lambda a: [int(x) for x in a.split("x")])
    return lambda pdk, array: dict(marker=PDK_MARKERS[pdks.index(pdk) % len(PDK_MARKERS)],
                                   color=ARRAY_COLOURS[arrays.index(array) % len(ARRAY_COLOURS)])


def _groups(df: pd.DataFrame):
    """One line per PDK, array size and last step (routed and synthesis-only points are not mixed)."""
    ok = df[df.status == "ok"]
    for (pdk, array, stop), g in ok.groupby(["pdk", "array", "stop_after"], sort=True):
        yield pdk, array, f"{pdk} {array}" + ("" if stop == "route" else f" ({stop} only)"), g.sort_values(
            "table_bits")


def outliers(df: pd.DataFrame) -> list[tuple[pd.Series, str]]:
    """Points whose fmax falls after routing by more than 10% below their own pre-route fmax (elsewhere routing
    with parasitics and a propagated clock adds at most a few percent), with the cause the metrics give."""
    out = []
    if "preroute_fmax [MHz]" not in df or FMAX not in df:
        return out
    for _, r in df[(df.status == "ok") & (df.timing_stage == "post-route")].iterrows():
        pre, post = r["preroute_fmax [MHz]"], r[FMAX]
        if not (is_number(pre) and is_number(post)) or post >= 0.9 * pre:
            continue
        path = str(r.get("postroute_critical_path", "") or "")
        relief, tries = r.get("macro_place_relief_bspline"), r.get("macro_place_tries_bspline")
        cause = f"post-route {post:.0f} vs pre-route {pre:.0f} MHz"
        if "bspline" in path.split("->")[-1]:
            cause += "; worst path ends in the B-spline macro"
        if relief is True or str(relief) == "True":
            cause += ", placed at relief density" + (f" (try {human(tries)})" if is_number(tries) else "")
        out.append((r, cause))
    return out


@dataclass(frozen=True)
class Plot:
    """One figure of the report: `draw(df, fig)` fills it (returns False when the data is not there)."""
    name: str
    caption: str
    draw: Callable


def _vs_bits(col: str, ylabel: str, scale: float = 1.0, log: bool = False):
    """`log`: a log y axis, where PDKs differ by more than an order of magnitude (energy: 1.8 V vs 5 V)."""
    def draw(df, fig) -> bool:
        if col not in df:
            return False
        ax = fig.add_subplot()
        style = _style(df)
        for pdk, array, label, g in _groups(df):
            ax.plot(g.table_bits, g[col] * scale, label=label, **style(pdk, array))
        if col == FMAX:
            for i, (r, cause) in enumerate(outliers(df)):
                text = f"{r['pdk']} {r['array']} {r['table_bits']} b: {cause}".replace("; ", ";\n")
                note = ax.annotate(text, (r.table_bits, r[col] * scale),
                                   fontsize=8, xytext=(0.3, 0.45 - 0.12 * i), textcoords="axes fraction",
                                   bbox=dict(boxstyle="round", fc="white", ec="none", alpha=0.8),
                                   arrowprops=dict(arrowstyle="->", lw=0.6, color="grey"))
                note.set_in_layout(False)
        ax.set(xlabel="basis-table entry width b [bits]", ylabel=ylabel + (" (log)" if log else ""),
               yscale="log" if log else "linear")
        ax.grid(alpha=0.3, which="both" if log else "major")
        ax.legend(fontsize=8)
        return True
    return draw


def _normalized(df, fig) -> bool:
    if "area_norm_16b" not in df:
        return False
    axes = fig.subplots(1, 2)
    style = _style(df)
    for ax, col, ref, title in ((axes[0], "area_norm_16b", "area_norm", "cell area / cell area (16 bit)"),
                                (axes[1], "fmax_norm_16b", "fmax_norm", "fmax / fmax (16 bit)")):
        for pdk, array, label, g in _groups(df):
            ax.plot(g.table_bits, g[col], label=label, **style(pdk, array))
        for bits, v in zip(REFERENCE_28NM["table_bits"], REFERENCE_28NM[ref]):
            ax.scatter([bits], [v], marker="*", s=180, color="black", zorder=5,
                       label="KANtize 28 nm (published)" if bits == 16 else None)
            ax.annotate(f"28 nm, {bits} b: x{v:g}", (bits, v), fontsize=8, xytext=(6, -12),
                        textcoords="offset points")
        ax.set(xlabel="basis-table entry width b [bits]", title=title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    refs = [(r, cause) for r, cause in outliers(df) if r["table_bits"] == 16]
    for i, (r, cause) in enumerate(refs):      # the 1.0 every ratio of its line divides by
        note = axes[1].annotate(f"{r['pdk']} {r['array']}: its 16-bit reference is an outlier:\n"
                                f"{cause.replace('; ', ';' + chr(10))}",
                                (16, 1.0), fontsize=7, xytext=(0.02, 0.03 + 0.13 * i), textcoords="axes fraction",
                                bbox=dict(boxstyle="round", fc="white", ec="none", alpha=0.85),
                                arrowprops=dict(arrowstyle="->", lw=0.6, color="grey"))
        note.set_in_layout(False)
    return True


def _area_pareto(y: str, ylabel: str, higher_is_better: bool):
    """Standard-cell area vs `y`, one marker per PDK and colour per array size, each point labelled by its table
    bits, and each group's Pareto front (the smallest area for the best `y` so far)."""
    sign = 1 if higher_is_better else -1

    def draw(df, fig) -> bool:
        if AREA not in df or y not in df:
            return False
        ok = df[(df.status == "ok") & df[AREA].notna() & df[y].notna()]
        if ok.empty:
            return False
        ax = fig.add_subplot()
        style = _style(df)
        for pdk, array, label, g in _groups(ok):
            ax.scatter(g[AREA] * 1e-6, g[y], label=label, s=40, **style(pdk, array))
            for _, r in g.iterrows():
                ax.annotate(f"{r.table_bits}b", (r[AREA] * 1e-6, r[y]), fontsize=7, xytext=(4, 3),
                            textcoords="offset points")
            front, best = [], -math.inf
            for _, r in g.sort_values([AREA, y], ascending=[True, not higher_is_better]).iterrows():
                if sign * r[y] > best:
                    front.append((r[AREA] * 1e-6, r[y]))
                    best = sign * r[y]
            ax.step(*zip(*front), where="post", color=style(pdk, array)["color"], alpha=0.8, lw=1.5,
                    ls="-" if pdk == sorted(set(df.pdk))[0] else "--")
            ax.scatter(*zip(*front), s=140, facecolors="none", edgecolors=style(pdk, array)["color"], lw=1)
        ax.set(xlabel="standard-cell area [mm^2] (log)", ylabel=ylabel)
        ax.set_xscale("log")
        if not higher_is_better:
            ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
        return True
    return draw


ENERGY_NOTE = ("Energy per inference = power_total (OpenSTA, the power workload's toggles on every driving pin, "
               "routed parasitics) x the clock period; zero-delay simulation has no glitches, so it is a lower bound. "
               "Failed points and points without a power step are left out.")


def _energy(df, fig) -> bool:
    """Energy per inference vs table bits: absolute, and normalized to the 16-bit point per PDK and array."""
    if ENERGY not in df or df[ENERGY].isna().all():
        return False
    axes = fig.subplots(1, 2)
    style = _style(df)
    for pdk, array, label, g in _groups(df):
        g = g.dropna(subset=[ENERGY])
        axes[0].plot(g.table_bits, g[ENERGY], label=label, **style(pdk, array))
        axes[1].plot(g.table_bits, g["energy_norm_16b"], label=label, **style(pdk, array))
    axes[0].set(xlabel="basis-table entry width b [bits]", ylabel="energy per inference [pJ] (log)", yscale="log")
    axes[1].set(xlabel="basis-table entry width b [bits]", title="energy / energy (16 bit)")
    if df["energy_norm_16b"].isna().all():
        axes[1].text(0.5, 0.5, "no 16-bit point with an energy", ha="center", transform=axes[1].transAxes)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return True


PLOTS = (
    Plot("area_vs_bits", "Standard-cell area (synthesis, mm^2) vs basis-table bits, one line per PDK and array size. "
         "Failed points are left out; routing channels are not in cell area (see die area).",
         _vs_bits(AREA, "standard-cell area [mm^2]", 1e-6)),
    Plot("die_area_vs_bits", "Die area (mm^2) vs table bits: the floorplan, routing channels and macro relief "
         "included. Failed and synthesis-only points are left out.", _vs_bits(DIE, "die area [mm^2]", 1e-6)),
    Plot("fmax_vs_bits", "fmax vs table bits (post-route where routed; pre-route for synthesis-only points). "
         "Annotated: points whose post-route fmax falls >10% below their own pre-route fmax, with the cause the "
         "metrics record. Failed points are left out.", _vs_bits(FMAX, "fmax [MHz]")),
    Plot("area_delay_vs_bits", "Cell area x clock period (1/fmax) vs table bits; lower is better. Failed points "
         "are left out.", _vs_bits("area_delay [um^2*ns]", "area x clock period [mm^2 ns]", 1e-6)),
    Plot("normalized_vs_reference", "Cell area and fmax normalized to the 16-bit point of the same PDK and array "
         "size, next to the KANtize 28 nm published ratios (stars, 16 and 3 bits only: the study gives no other "
         "widths). Every normalized ratio inherits its 16-bit point: an annotated outlier there moves the whole "
         "line.", _normalized),
    Plot("pareto_area_fmax", "Cell area vs fmax, marker = PDK, colour = array size, labels = table bits; the "
         "steps are each group's Pareto front (no other point of the group is both smaller and faster). "
         "Failed points are left out.", _area_pareto(FMAX, "fmax [MHz]", higher_is_better=True)),
    Plot("energy_vs_bits", "Energy per inference vs table bits, absolute and normalized to the 16-bit point of the "
         "same PDK and array size. " + ENERGY_NOTE, _energy),
    Plot("energy_delay_vs_bits", "Energy-delay product (energy per inference x 1/fmax) vs table bits; lower is "
         "better. " + ENERGY_NOTE, _vs_bits("energy_delay [pJ*ns]", "energy x clock period [pJ ns]", log=True)),
    Plot("pareto_area_energy", "Cell area vs energy per inference, marker = PDK, colour = array size, labels = "
         "table bits; the Pareto front per group. " + ENERGY_NOTE,
         _area_pareto(ENERGY, "energy per inference [pJ] (log)", higher_is_better=False)),
)


# ---------------------------------------------------------------- the 16 -> 3 bit change

# (results.csv column, label, scale to the unit, unit) of the change table: the study's knob against its price
CHANGE_COLUMNS = ((AREA, "cell area", 1.0, "um^2"), (DIE, "die area", 1e-6, "mm^2"), (FMAX, "fmax", 1.0, "MHz"),
                  (ENERGY, "energy / inference", 1.0, "pJ"))


def bits_change(df: pd.DataFrame, wide: int = 16, narrow: int = 3) -> pd.DataFrame:
    """Per PDK, array and last step that has an ok `wide`- and `narrow`-bit point: each CHANGE_COLUMNS metric as
    'wide -> narrow unit (relative change)', then the KANtize 28 nm row (published: area and fmax only). Empty
    where no group has both points."""
    rows = []
    ok = df[df.status == "ok"] if not df.empty else df
    for (pdk, array, stop), g in (ok.groupby(["pdk", "array", "stop_after"], sort=True) if not ok.empty else ()):
        a, b = g[g.table_bits == wide], g[g.table_bits == narrow]
        if a.empty or b.empty:
            continue
        row = {"PDK": pdk, "array": array + ("" if stop == "route" else f" ({stop} only)")}
        for col, label, scale, unit in CHANGE_COLUMNS:
            x, y = (a[col].iloc[0], b[col].iloc[0]) if col in g else (None, None)
            row[f"{label} {wide} -> {narrow}"] = (f"{human(x, scale)} -> {human(y, scale)} {unit} ({y / x - 1:+.1%})"
                                                  if is_number(x) and is_number(y) and x else "")
        rows.append(row)
    if not rows:
        return pd.DataFrame()
    if (wide, narrow) == (REFERENCE_28NM["table_bits"][0], REFERENCE_28NM["table_bits"][1]):
        rows.append({"PDK": "KANtize, 28 nm (published)", "array": "",
                     f"cell area {wide} -> {narrow}": f"{REFERENCE_28NM['area_norm'][1] - 1:+.0%}",
                     f"fmax {wide} -> {narrow}": f"{REFERENCE_28NM['fmax_norm'][1] - 1:+.0%}"})
    return pd.DataFrame(rows).fillna("")


CHANGE_NOTE = ("Each PDK and array size: its 16-bit point against its 3-bit point, same flow steps. Energy per "
               "inference: power workload's toggles, zero-delay simulation (no glitches: a lower bound).")


def make_plots(df: pd.DataFrame, out: Path) -> list[tuple[Path, str]]:
    """PNG + SVG of each plot of PLOTS; returns (PNG path, caption)."""
    plots = []
    for plot in PLOTS:
        wide = plot.name in ("normalized_vs_reference", "energy_vs_bits")
        fig = plt.figure(figsize=(12, 5) if wide else (10, 5))
        if plot.draw(df, fig):
            fig.tight_layout()
            for ext in ("png", "svg"):
                fig.savefig(out / f"{plot.name}.{ext}", dpi=100, metadata={"Date": None} if ext == "svg" else None)
            plots.append((out / f"{plot.name}.png", plot.caption))
        plt.close(fig)
    return plots


FPGA_RESOURCES = (("fpga_lut4 [LUT4]", "LUT4"), ("fpga_ff [FF]", "FF"), ("fpga_dsp [MULT18X18D]", "DSP"),
                  ("fpga_resources [% of device]", "combined (mean utilization)"))
FPGA_COLUMNS = ("fpga_lut4 [LUT4]", "fpga_ff [FF]", "fpga_ccu2 [CCU2C]", "fpga_dsp [MULT18X18D]", "fpga_bram [DP16KD]",
                "fpga_resources [% of device]", "fmax_spread [%]", "fpga_resources_norm_8b", "fmax_norm_8b")


def _fpga_normalized(df: pd.DataFrame) -> pd.DataFrame:
    """FPGA rows with every resource and fmax divided by the same platform's and array's 8-bit point."""
    fpga = df[(df.target == "fpga") & (df.status == "ok")]
    out = []
    for _, g in fpga.groupby(["pdk", "array", "stop_after"], sort=True):
        ref = g[g.table_bits == 8]
        if ref.empty:
            continue
        g = g.sort_values("table_bits").copy()
        for col, _ in (*FPGA_RESOURCES, (FMAX, "")):
            if col in g:
                g[f"{col} /8b"] = g[col] / ref[col].iloc[0]
        out.append(g)
    return pd.concat(out) if out else fpga.iloc[0:0]


def make_fpga_plots(df: pd.DataFrame, out: Path) -> list[tuple[Path, str]]:
    """FPGA points: each resource and fmax vs table bits, normalized to the 8-bit point, next to the KANtize FPGA
    figures (8 -> 3 bit: resources -36%, clock +50%). Leaves out platforms/arrays without an 8-bit point."""
    norm = _fpga_normalized(df)
    if norm.empty:
        return []
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    styles = dict(zip([c for c, _ in FPGA_RESOURCES], ("-", "--", ":", "-.")))
    for (platform, array), g in norm.groupby(["pdk", "array"], sort=True):
        color = None
        for col, what in FPGA_RESOURCES[:3]:
            if f"{col} /8b" in g:
                line, = axes[0].plot(g.table_bits, g[f"{col} /8b"], styles[col], marker="o", color=color,
                                     label=f"{platform} {array} {what}")
                color = line.get_color()
        col = FPGA_RESOURCES[3][0]
        if f"{col} /8b" in g:
            axes[1].plot(g.table_bits, g[f"{col} /8b"], marker="o", color=color, label=f"{platform} {array}")
        if f"{FMAX} /8b" in g:
            ref = g[FMAX] / g[f"{FMAX} /8b"]          # the 8-bit median fmax; bars: the seeds' min..max
            lo, hi = g.get("fmax_min [MHz]", g[FMAX]) / ref, g.get("fmax_max [MHz]", g[FMAX]) / ref
            axes[2].errorbar(g.table_bits, g[f"{FMAX} /8b"], yerr=[g[f"{FMAX} /8b"] - lo, hi - g[f"{FMAX} /8b"]],
                             marker="o", color=color, capsize=3, label=f"{platform} {array} (bars: seeds min..max)")
    for ax, ref, title in ((axes[0], "resources_norm", "LUT4 / FF / DSP count / count(8 bit)"),
                           (axes[1], "resources_norm", "resources (mean device utilization) / 8 bit"),
                           (axes[2], "fmax_norm", "fmax (median of seeds) / fmax(8 bit)")):
        ax.plot(REFERENCE_FPGA["table_bits"], REFERENCE_FPGA[ref], "k*--", markersize=12,
                label="KANtize FPGA (8 -> 3 bit)")
        ax.set(xlabel="basis-table entry width b [bits]", title=title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.text(0.01, -0.04, "FPGA points that finished, normalized to the same device's and array's 8-bit point "
             "(failed points and groups without an 8-bit point left out). Resources: synthesized primitive counts; "
             "combined: mean of the LUT, FF, DSP and BRAM utilizations (nextpnr).", fontsize=8)
    path = out / "fpga_normalized_vs_reference"
    for ext in ("png", "svg"):
        fig.savefig(f"{path}.{ext}", dpi=100, bbox_inches="tight", metadata={"Date": None} if ext == "svg" else None)
    plt.close(fig)
    return [(Path(f"{path}.png"), "FPGA points: LUT4, FF and DSP counts, the combined resources figure and the median "
             "fmax (bars: the seeds' min..max) vs table bits, each divided by the same device's and array's 8-bit "
             "point, next to KANtize's FPGA figures (8 -> 3 bits: -36% resources, +50% clock). Failed points and "
             "groups without an 8-bit point are left out.")]


def fpga_8_to_3_rows(df: pd.DataFrame) -> list[dict]:
    """Per FPGA platform and array with ok 8- and 3-bit points: the 8 -> 3 bit change of each resource and of the
    median fmax [%], each point's seed spread, next to KANtize's FPGA figures."""
    rows = []
    for (platform, array), g in _fpga_normalized(df).groupby(["pdk", "array"], sort=True):
        g = g.set_index("table_bits")
        if 3 not in g.index:
            continue
        row = {"platform": platform, "array": array}
        for col, what in (*FPGA_RESOURCES, (FMAX, "fmax (median of seeds)")):
            if f"{col} /8b" in g:
                ratio = g.at[3, f"{col} /8b"]
                row[f"{what} 8 -> 3"] = (f"{100 * (ratio - 1):+.1f}%" if math.isfinite(ratio)
                                         else f"{human(g.at[8, col])} -> {human(g.at[3, col])}")
        if "fmax_spread [%]" in g:
            row["seed spread at 8 / 3 bits"] = f"{g.at[8, 'fmax_spread [%]']}% / {g.at[3, 'fmax_spread [%]']}%"
        rows.append(row)
    if rows:
        rows.append({"platform": "KANtize FPGA (published)", "array": "",
                     "combined (mean utilization) 8 -> 3": f"{100 * (REFERENCE_FPGA['resources_norm'][1] - 1):+.0f}%",
                     "fmax (median of seeds) 8 -> 3": f"{100 * (REFERENCE_FPGA['fmax_norm'][1] - 1):+.0f}%"})
    return rows


# ---------------------------------------------------------------- provenance

def provenance(points: list[dict]) -> dict:
    """What the page header says: the points' tool versions, commits and machines ('not recorded' for points
    stored before they were recorded)."""
    def values(get):
        found = sorted({get(p) or "not recorded" for p in points})
        return " / ".join(found) if found else "not recorded"
    tools = sorted({t for p in points for t in p.get("tools", {})})
    dates = sorted(p["finished"] for p in points if p.get("finished"))
    run = (f"{dates[0]} .. {dates[-1]}" if dates[0] != dates[-1] else dates[0]) if dates else "not recorded"
    if dates and len(dates) < len(points):
        run += f" ({len(points) - len(dates)} points: not recorded)"
    return {"commit": values(lambda p: p.get("commit")), "machine": values(lambda p: p.get("machine")), "run": run,
            "tools": {t: values(lambda p, t=t: p.get("tools", {}).get(t)) for t in tools}}


# ---------------------------------------------------------------- the page

def _img(path: Path) -> str:
    return (f'<img src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}" '
            f'alt="{path.stem}">')


def copy_point_files(pt: dict, out: Path) -> dict:
    """Each point's files the page links to, under out/points/<key>/: its report folder is there already when
    the sweep wrote it there; the worker log (in the build folder) is copied. Returns {label: relative path}."""
    folder = out / "points" / pt["key"]
    links = {}
    log = Path(pt["log"]) if pt.get("log") else None
    if log and not log.is_absolute():
        log = out / log
    dest = folder / "logs" / "worker.log"
    if log and log.is_file() and log.resolve() != dest.resolve():
        dest.parent.mkdir(parents=True, exist_ok=True)
        copy_log(log, dest)
    for label, f in (("summary", "summary.md"), ("log", "logs/worker.log"), ("die", "kan_array_die.png"),
                     ("logs", "logs")):
        if (folder / f).exists():
            links[label] = f"points/{pt['key']}/{f}"
    return links


def _header(col: Column, df: pd.DataFrame) -> str:
    if col.stage != "timing":
        return col.label + (f" ({col.stage})" if col.stage else "")
    stages = sorted({s for s in df.get("timing_stage", []) if s})
    return col.label + (f" ({stages[0]})" if len(stages) == 1 else " (* = pre-route)" if stages else "")


def _cell(col: Column, r: pd.Series, mixed_stage: bool) -> str:
    v = r.get(col.csv)
    text = human(v, col.scale) if isinstance(v, numbers.Number) and not isinstance(v, bool) else (
        "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    if col.stage == "timing" and mixed_stage and r.get("timing_stage") == "pre-route" and text:
        text += "*"
    return text


SCRIPT = """function sortBy(t,i){const rows=[...t.tBodies[0].rows];
const dir=t.dataset.col==i&&t.dataset.dir=='a'?'d':'a';t.dataset.col=i;t.dataset.dir=dir;
const num=s=>parseFloat(s.replace(/,/g,''));
rows.sort((a,b)=>{const x=a.cells[i].innerText,y=b.cells[i].innerText,nx=num(x),ny=num(y);
const c=isNaN(nx)||isNaN(ny)?x.localeCompare(y):nx-ny;return dir=='a'?c:-c});
rows.forEach(r=>t.tBodies[0].appendChild(r))}
document.querySelectorAll('table.sortable').forEach(t=>[...t.tHead.rows[0].cells].forEach((h,i)=>
h.onclick=()=>sortBy(t,i)));"""
STYLE = """body{font-family:sans-serif;margin:1em;max-width:1400px} table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:2px 6px} th{cursor:pointer;background:#eee} td.n{text-align:right}
figure{margin:1.5em 0} figure img{width:100%} figcaption{font-size:13px;color:#333}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 12px;font-size:13px} dt{font-weight:bold}
.full{overflow-x:auto}"""


def _html_table(title: str, note: str, names: list[str], rows: list[dict]) -> str:
    """A titled summary table of the index page (`title`: the page's own text, written as is; note and cells escaped;
    a missing cell is empty)."""
    return (f"<h2>{title}</h2><p>{html.escape(note)}</p><table><thead><tr>"
            + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(n, '')))}</td>" for n in names) + "</tr>"
                      for r in rows) + "</tbody></table>")


def write_html(df: pd.DataFrame, plots: list[tuple[Path, str]], out: Path, title: str, links: dict[str, dict],
               prov: dict, change: pd.DataFrame | None = None) -> Path:
    stages = {s for s in df.get("timing_stage", []) if s} if not df.empty else set()
    mixed = len(stages) > 1
    cols = [c for c in HEADLINE if c.csv in df] if not df.empty else []
    head = "".join(f"<th>{html.escape(_header(c, df))}</th>" for c in cols) + "<th>files</th>"
    body = []
    for _, r in df.iterrows():
        cells = [f"<td class='{'n' if isinstance(r.get(c.csv), numbers.Number) else ''}'>"
                 f"{html.escape(_cell(c, r, mixed))}</td>" for c in cols]
        files = links.get(r.get("key"), {})
        shown = [k for k in ("summary", "log", "logs", "die") if k in files and not (k == "logs" and "log" in files)]
        cells.append("<td>" + " ".join(f"<a href='{html.escape(files[k])}'>{k}</a>" for k in shown) + "</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    full_cols = [c for c in df.columns if c not in ("key",)]
    full_head = "".join(f"<th>{html.escape(c)}</th>" for c in full_cols)
    full_body = "".join("<tr>" + "".join(
        f"<td>{html.escape(human(v) if isinstance(v, numbers.Number) and not isinstance(v, bool) else str(v))}</td>"
        for v in (r[c] for c in full_cols)) + "</tr>" for _, r in df.iterrows())
    commit = flow_commit()
    written = (git_output("log", "-1", "--format=%cd", "--date=format:%Y-%m-%d", commit.split("+")[0])
               if "dirty" not in commit else "")
    tools = ", ".join(f"{t} {v}" for t, v in prov["tools"].items())
    n_ok = int((df.status == "ok").sum()) if not df.empty else 0
    change_html = "" if change is None or change.empty else _html_table(
        "16 -> 3 table bits", CHANGE_NOTE, list(change.columns), [dict(zip(change.columns, r))
                                                                 for r in change.itertuples(index=False)])
    figures = "".join(f"<figure>{_img(p)}<figcaption>{html.escape(c)}</figcaption></figure>" for p, c in plots)
    fpga = df.target == "fpga" if "target" in df else pd.Series(False, index=df.index)
    meta_timing = ""
    if not fpga.all():
        meta_timing += (f"<dt>timing</dt><dd>fmax = 1/(period - WNS), OpenSTA; "
                        f"{html.escape(', '.join(sorted(stages)) or 'none')} (post-route: router parasitics, "
                        "propagated clock)</dd>\n<dt>reference</dt><dd>KANtize at 28 nm, 16 -> 3 bit table: -72% area, "
                        "+50% fmax (published numbers)</dd>")
    if fpga.any():
        meta_timing += ("<dt>FPGA timing</dt><dd>fmax = nextpnr-ecp5's achieved frequency of the array clock in its "
                        "routed timing analysis, median of the seeds (fpga.seeds); spread = (max - min) / median</dd>\n"
                        "<dt>FPGA reference</dt><dd>KANtize on FPGA, 8 -> 3 bit table: -36% resources, +50% clock "
                        "(published numbers)</dd>")
    ratios = fpga_8_to_3_rows(df) if fpga.any() else []
    fpga_ratios = "" if not ratios else _html_table(
        "FPGA: 8 -> 3 bits", "Change from each platform's and array's 8-bit point to its 3-bit point (resources: "
        "synthesized primitive counts; combined: mean of the LUT, FF, DSP and BRAM utilizations), next to the "
        "study's published FPGA figures.", list(dict.fromkeys(k for r in ratios for k in r)), ratios)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<dl class="meta"><dt>points</dt><dd>{len(df)}, {n_ok} ok</dd>
<dt>points run</dt><dd>{html.escape(prov['run'])}, at commit {html.escape(prov['commit'])}</dd>
<dt>report written by</dt><dd>flow at commit {html.escape(commit)}{f' ({written})' if written else ''}</dd>
<dt>machine</dt><dd>{html.escape(prov['machine'])}</dd>
<dt>tools</dt><dd>{html.escape(tools) or 'not recorded'}</dd>
{meta_timing}</dl>
<h2>Results</h2>
<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>
<details><summary>All {len(full_cols)} columns per point (also in <a href="results.csv">results.csv</a>)</summary>
<div class="full"><table class="sortable"><thead><tr>{full_head}</tr></thead><tbody>{full_body}</tbody></table></div>
</details>
{change_html}{fpga_ratios}
<h2>Plots</h2>{figures}
<script>{SCRIPT}</script></body></html>"""
    path = out / "index.html"
    path.write_text(page)
    return path


def write_report(points_dir: Path, out: Path, title: str, keys: set[str] | None = None) -> pd.DataFrame:
    """`keys`: the sweep's current points, remembered in current_points.json for later `flow report` runs
    (the store also caches points of earlier versions of the sweep file)."""
    out.mkdir(parents=True, exist_ok=True)
    current = out / "current_points.json"
    if keys is not None:
        current.write_text(json.dumps(sorted(keys), indent=0) + "\n")
    elif current.exists():
        keys = set(json.loads(current.read_text()))
    points = load_points(points_dir, keys)
    from .physical import rewrite_report  # each point's summary.md and portable metrics.json, in this format
    for pt in points:
        if pt.get("key") and (out / "points" / pt["key"] / "metrics.json").is_file():
            try:
                rewrite_report(out / "points" / pt["key"])
            except ConfigError as exc:     # a point stored under an older schema keeps its summary.md
                print(f"warning: {pt['key']}: summary.md not rewritten ({exc})", file=sys.stderr)
    links = {pt["key"]: copy_point_files(pt, out) for pt in points if pt.get("key")}
    from .pdks import REPO
    from .sweep import write_json_atomic
    for pt in points:      # the stored results too: their logs are copied in, machine paths can go
        if pt.get("key") and portable_tree(pt, REPO) != pt and (Path(points_dir) / f"{pt['key']}.json").is_file():
            write_json_atomic(Path(points_dir) / f"{pt['key']}.json", portable_tree(pt, REPO))
    df = to_frame(points)
    if not df.empty:
        df["log"] = [links.get(k, {}).get("log", "") for k in df.key]
    df.to_csv(out / "results.csv", index=False)
    keep = [c for c in ("point", "status", "pdk", "array", "table_bits", "stop_after", "physical", "timing_stage",
                        AREA, DIE, FMAX, "cell_area_nand2 [NAND2]", "period_fo4 [FO4]", "model_score [%]",
                        "model_score", "cells [cells]", "failed_nets [nets]", "area_norm_16b", "fmax_norm_16b",
                        ENERGY, "energy_norm_16b", "energy_per_model_inference [pJ]",
                        *FPGA_COLUMNS, "error") if c in df]
    change = bits_change(df)
    (out / "table.md").write_text((markdown_table(df[keep]) if keep else "") + (
        f"\n## 16 -> 3 table bits\n\n{CHANGE_NOTE}\n\n{markdown_table(change)}" if not change.empty else ""))
    plots = make_plots(df, out) if not df.empty else []
    plots += make_fpga_plots(df, out) if not df.empty else []
    write_html(df, plots, out, title, links, provenance(points), change)
    return df


# ---------------------------------------------------------------- compare

@dataclass
class Comparison:
    moved: list[tuple[str, str, float, float, float]]   # point, column, before, after, relative change
    status: list[tuple[str, str, str]]                   # point, before, after
    added: list[str]
    removed: list[str]
    common: int

    def table(self) -> str:
        """Before / After / Delta as a markdown table (also readable in a terminal)."""
        rows = [{"point": p, "metric": c, "before": human(b), "after": human(a),
                 "delta": f"{a - b:+,.4g} ({d:+.1%})" if math.isfinite(d) else f"{a - b:+,.4g} (new nonzero)"}
                for p, c, b, a, d in self.moved]
        rows += [{"point": p, "metric": "status", "before": b, "after": a, "delta": ""} for p, b, a in self.status]
        return markdown_table(pd.DataFrame(rows)) if rows else "(no metric moved)\n"


def compare(new_csv: Path, old_csv: Path, threshold: float, runtime: bool = False) -> Comparison:
    """Every numeric quality-of-results column of the points present in both that moved by more than `threshold`
    (relative), whatever its Python/numpy type; runtime, memory and tool-time columns only with `runtime`."""
    new, old = (_current_columns(pd.read_csv(f)).set_index("point") for f in (new_csv, old_csv))
    common = new.index.intersection(old.index)
    cmp = Comparison([], [], sorted(set(new.index) - set(old.index)), sorted(set(old.index) - set(new.index)),
                     len(common))
    skip = {"table_bits", "key"}
    for point in common:
        for col in new.columns.intersection(old.columns):
            if col in skip or (NOT_QOR.search(col) and not runtime):
                continue
            a, b = new.at[point, col], old.at[point, col]
            if not (is_number(a) and is_number(b)):
                continue
            a, b = float(a), float(b)
            if a == b:
                continue
            change = (a - b) / abs(b) if b else math.inf
            if abs(change) > threshold:
                cmp.moved.append((point, col, b, a, change))
        if "status" in new and "status" in old and new.at[point, "status"] != old.at[point, "status"]:
            cmp.status.append((point, old.at[point, "status"], new.at[point, "status"]))
    return cmp


def _current_columns(df: pd.DataFrame) -> pd.DataFrame:
    """results.csv of a sweep reported before a metric rename, its `<metric> [<unit>]` columns under today's
    names (metrics.current_name); an old column whose today's name is there too is dropped."""
    def renamed(col: str) -> str:
        name, sep, unit = col.partition(" [")
        return current_name(name) + sep + unit
    cols = {c: renamed(c) for c in df.columns}
    return df.drop(columns=[c for c, n in cols.items() if n != c and n in df]).rename(columns=cols)


class NothingToCompare(FlowError):
    exit_code = 2      # a comparison of nothing is bad input, not a pass


def check_comparable(cmp: Comparison, new: Path, old: Path) -> None:
    if not cmp.common:
        raise NothingToCompare(f"{new} and {old}: no point in common (point names differ): nothing to compare")
