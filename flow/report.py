"""Sweep reports: results.csv, table.md, a self-contained index.html and the plots; `flow report --compare`.

Columns are `<metric> [<unit>]`; every point's metrics keep their tool and source file in the point JSON.
"""
from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

# The KANtize study at 28 nm, 16 -> 3 bit basis table: area x0.28, fmax x1.5.
REFERENCE_28NM = {"table_bits": [16, 3], "area_norm": [1.0, 0.28], "fmax_norm": [1.0, 1.5]}
AREA = "cell_area [um^2]"
FMAX = "fmax [MHz]"


def load_points(points_dir: Path, keys: set[str] | None = None) -> list[dict]:
    """The stored point results; `keys` keeps only a sweep's current points (the store also caches old ones)."""
    return [json.loads(p.read_text()) for p in sorted(Path(points_dir).glob("*.json"))
            if keys is None or p.stem in keys]


def to_frame(points: list[dict]) -> pd.DataFrame:
    rows = []
    for pt in points:
        cfg = pt["config"]
        row = {"point": pt["name"], "status": pt["status"], "error": pt.get("error") or "",
               "pdk": cfg["pdk"], "array": f"{cfg['array']['rows']}x{cfg['array']['cols']}",
               "table_bits": cfg["kan"]["table_bits"], "stop_after": cfg["flow"]["stop_after"],
               "physical": pt.get("metrics", {}).get("physical_mode", {}).get("value", ""),
               "report_dir": pt.get("report_dir", ""),
               "log": pt.get("log", ""), "runtime [s]": pt.get("seconds")}
        for name, m in pt.get("metrics", {}).items():
            if isinstance(m.get("value"), (int, float, str, bool)) or m.get("value") is None:
                row[f"{name} [{m['unit']}]" if m.get("unit") else name] = m.get("value")
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df = df.sort_values(["pdk", "array", "table_bits"], kind="stable").reset_index(drop=True)
    if AREA in df and FMAX in df:
        df["area_delay [um^2*ns]"] = df[AREA] * 1000.0 / df[FMAX]
    # normalized to the 16-bit point that went through the same steps (post-route fmax is not pre-route fmax)
    group = ["pdk", "array", "stop_after"]
    for col, norm in ((AREA, "area_norm_16b"), (FMAX, "fmax_norm_16b")):
        if col in df:
            ref = df[(df.table_bits == 16) & (df.status == "ok")].set_index(group)[col]
            df[norm] = [v / ref.get(k, float("nan")) for v, k in zip(df[col], zip(*(df[g] for g in group)))]
    return df


def markdown_table(df: pd.DataFrame) -> str:
    cell = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _groups(df: pd.DataFrame):
    """One line per PDK, array size and last step (routed and synthesis-only points are not mixed)."""
    ok = df[df.status == "ok"]
    for (pdk, array, stop), g in ok.groupby(["pdk", "array", "stop_after"], sort=True):
        yield f"{pdk} {array}" + ("" if stop == "route" else f" ({stop} only)"), g.sort_values("table_bits")


def make_plots(df: pd.DataFrame, out: Path) -> list[Path]:
    """PNG + SVG of each plot; returns the PNG paths."""
    plots = []

    def save(fig, name):
        for ext in ("png", "svg"):
            fig.savefig(out / f"{name}.{ext}", dpi=110, bbox_inches="tight")
        plt.close(fig)
        plots.append(out / f"{name}.png")

    for col, name, label in ((AREA, "area_vs_bits", "standard-cell area [um^2]"),
                             (FMAX, "fmax_vs_bits", "fmax [MHz]"),
                             ("area_delay [um^2*ns]", "area_delay_vs_bits", "area x clock period [um^2 ns]")):
        if col not in df:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for label_g, g in _groups(df):
            ax.plot(g.table_bits, g[col], marker="o", label=label_g)
        ax.set(xlabel="basis-table entry width b [bits]", ylabel=label, title=label.split(" [")[0] + " vs table bits")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        save(fig, name)
    if "area_norm_16b" in df:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for ax, col, ref, title in ((axes[0], "area_norm_16b", "area_norm", "area / area(16 bit)"),
                                    (axes[1], "fmax_norm_16b", "fmax_norm", "fmax / fmax(16 bit)")):
            for label_g, g in _groups(df):
                ax.plot(g.table_bits, g[col], marker="o", label=label_g)
            ax.plot(REFERENCE_28NM["table_bits"], REFERENCE_28NM[ref], "k*--", markersize=12,
                    label="KANtize 28 nm (16 -> 3 bit)")
            ax.set(xlabel="table bits", title=title)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        save(fig, "normalized_vs_reference")
    if AREA in df and FMAX in df:
        fig, ax = plt.subplots(figsize=(6, 4))
        for label_g, g in _groups(df):
            sc = ax.scatter(g[AREA], g[FMAX], c=g.table_bits, cmap="viridis", label=label_g)
            for _, r in g.iterrows():
                ax.annotate(str(r.table_bits), (r[AREA], r[FMAX]), fontsize=7)
        ax.set(xlabel="standard-cell area [um^2]", ylabel="fmax [MHz]", title="Pareto: area vs fmax (labels: b)")
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
        if plots:
            fig.colorbar(sc, ax=ax, label="table bits")
        save(fig, "pareto_area_fmax")
    return plots


def _img(path: Path) -> str:
    return f'<img src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}" alt="{path.stem}">'


def write_html(df: pd.DataFrame, plots: list[Path], out: Path, title: str) -> Path:
    # os.path.relpath: Path.relative_to(walk_up=True) needs Python 3.12, the venv has 3.11
    rel = lambda p: html.escape(os.path.relpath(Path(p).resolve(), out.resolve())) if p else ""  # noqa: E731
    head = "".join(f"<th onclick='sortBy({i})'>{html.escape(c)}</th>" for i, c in enumerate(df.columns))
    body = []
    for _, r in df.iterrows():
        cells = []
        for c in df.columns:
            v = r[c]
            if c in ("log", "report_dir") and v:
                cells.append(f"<td><a href='{rel(v)}'>{c}</a></td>")
            else:
                cells.append(f"<td>{html.escape(f'{v:.4g}' if isinstance(v, float) else str(v))}</td>")
        die = Path(r["report_dir"]) / "die.png" if r.get("report_dir") else None
        if die and die.exists():
            cells.append(f"<td><a href='{rel(die)}'>die</a></td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:1em}} table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 5px}} th{{cursor:pointer;background:#eee}} img{{max-width:48%}}</style>
<script>function sortBy(i){{const t=document.getElementById('r'),rows=[...t.tBodies[0].rows];
const dir=t.dataset.col==i&&t.dataset.dir=='a'?'d':'a';t.dataset.col=i;t.dataset.dir=dir;
rows.sort((a,b)=>{{const x=a.cells[i].innerText,y=b.cells[i].innerText,nx=parseFloat(x),ny=parseFloat(y);
const c=isNaN(nx)||isNaN(ny)?x.localeCompare(y):nx-ny;return dir=='a'?c:-c}});
rows.forEach(r=>t.tBodies[0].appendChild(r))}}</script></head><body>
<h1>{html.escape(title)}</h1><p>{len(df)} points, {int((df.status == 'ok').sum())} ok.
Reference: KANtize at 28 nm, 16 -> 3 bit table: -72% area, +50% fmax.</p>
{''.join(_img(p) for p in plots)}
<table id="r"><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></body></html>"""
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
    df = to_frame(load_points(points_dir, keys))
    df.to_csv(out / "results.csv", index=False)
    keep = [c for c in ("point", "status", "pdk", "array", "table_bits", "stop_after", "physical", AREA, FMAX,
                        "cell_area_nand2 [NAND2]", "period_fo4 [FO4]", "model_score [%]", "model_score", "cells [cells]", "failed_nets [nets]",
                        "area_norm_16b", "fmax_norm_16b", "runtime [s]", "error") if c in df]
    (out / "table.md").write_text(markdown_table(df[keep]) if keep else "")
    plots = make_plots(df, out) if not df.empty else []
    write_html(df, plots, out, title)
    return df


def compare(new_csv: Path, old_csv: Path, threshold: float) -> list[str]:
    """Every numeric metric of a point present in both that moved by more than `threshold` (relative)."""
    new, old = pd.read_csv(new_csv).set_index("point"), pd.read_csv(old_csv).set_index("point")
    flags = []
    for point in new.index.intersection(old.index):
        for col in new.columns.intersection(old.columns):
            a, b = new.at[point, col], old.at[point, col]
            if col == "runtime [s]" or not all(isinstance(v, (int, float)) for v in (a, b)) or pd.isna(b):
                continue
            if b == 0 and a == 0:
                continue
            change = (a - b) / abs(b) if b else float("inf")
            if abs(change) > threshold:
                flags.append(f"{point}: {col}: {b:.6g} -> {a:.6g} ({change:+.1%})")
        if new.at[point, "status"] != old.at[point, "status"]:
            flags.append(f"{point}: status: {old.at[point, 'status']} -> {new.at[point, 'status']}")
    return flags
