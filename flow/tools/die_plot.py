"""Read a placed or routed DEF (as qflow's place2def / qrouter write it) and draw the die as a PNG."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..pdks import PdkInfo


@dataclass
class DefLayout:
    units: int                                              # DEF database units per um
    die: tuple[int, int, int, int]                          # x0, y0, x1, y1 in DEF units
    rows: list[tuple[int, int, int, int]] = field(default_factory=list)     # x0, y0, x1, y1 per ROW
    components: dict[str, str] = field(default_factory=dict)                # instance -> macro
    placements: list[tuple[str, int, int]] = field(default_factory=list)    # macro, x, y (lower left)
    locations: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # instance -> x, y, orientation
    segments: list[tuple[str, int, int, int, int]] = field(default_factory=list)  # layer, x0, y0, x1, y1
    vias: int = 0
    via_names: dict[str, int] = field(default_factory=dict)                 # via -> count

    @property
    def die_area_um2(self) -> float:
        x0, y0, x1, y1 = self.die
        return (x1 - x0) * (y1 - y0) / self.units ** 2

    @property
    def core_area_um2(self) -> float:
        """Bounding box of the placement rows."""
        if not self.rows:
            return self.die_area_um2
        x0, y0 = min(r[0] for r in self.rows), min(r[1] for r in self.rows)
        x1, y1 = max(r[2] for r in self.rows), max(r[3] for r in self.rows)
        return (x1 - x0) * (y1 - y0) / self.units ** 2

    @property
    def wire_by_layer(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for layer, x0, y0, x1, y1 in self.segments:
            out[layer] = out.get(layer, 0.0) + (abs(x1 - x0) + abs(y1 - y0)) / self.units
        return out

    @property
    def wirelength_um(self) -> float:
        return sum(self.wire_by_layer.values())


_POINT = re.compile(r"\(\s*(-?\d+|\*)\s+(-?\d+|\*)(?:\s+-?\d+)?\s*\)")


def _section(text: str, name: str) -> str:
    m = re.search(rf"^\s*{name}\s+\d+\s*;(.*?)^\s*END\s+{name}", text, re.S | re.M)
    return m.group(1) if m else ""


def _routes(body: str, layout: DefLayout) -> None:
    """Wire segments and vias of `+ ROUTED layer ( x y ) ( * y ) VIA NEW layer ...` records."""
    for route in re.findall(r"\+\s*ROUTED\s+(.*?)(?=;|\n\s*-\s)", body, re.S):
        for piece in re.split(r"\bNEW\b", route):
            tokens = re.findall(r"\([^)]*\)|[^\s()]+", piece)
            if not tokens:
                continue
            layer, last = tokens[0], None
            for tok in tokens[1:]:
                m = _POINT.fullmatch(tok)
                if m is None:
                    layout.vias += 1            # a via name after a point
                    layout.via_names[tok] = layout.via_names.get(tok, 0) + 1
                    continue
                x = last[0] if m.group(1) == "*" else int(m.group(1))
                y = last[1] if m.group(2) == "*" else int(m.group(2))
                if last is not None and (x, y) != last:
                    layout.segments.append((layer, *last, x, y))
                last = (x, y)


def read_def(path: Path) -> DefLayout:
    text = Path(path).read_text()
    units = int(re.search(r"UNITS\s+DISTANCE\s+MICRONS\s+(\d+)", text).group(1))
    die = tuple(int(v) for v in re.search(
        r"DIEAREA\s*\(\s*(-?\d+)\s+(-?\d+)\s*\)\s*\(\s*(-?\d+)\s+(-?\d+)\s*\)", text).groups())
    layout = DefLayout(units=units, die=die)
    for x, y, nx, ny, sx, sy in re.findall(
            r"^\s*ROW\s+\S+\s+\S+\s+(-?\d+)\s+(-?\d+)\s+\S+\s+DO\s+(\d+)\s+BY\s+(\d+)\s+STEP\s+(\d+)\s+(\d+)",
            text, re.M):
        x, y, nx, ny, sx, sy = map(int, (x, y, nx, ny, sx, sy))
        layout.rows.append((x, y, x + nx * sx, y + max(ny * sy, 0)))
    heights = sorted({r[1] for r in layout.rows})
    # a row's vertical STEP is 0: its height is the row pitch (one row: the rest of the die)
    row_height = heights[1] - heights[0] if len(heights) > 1 else die[3] - (heights[0] if heights else die[1])
    layout.rows = [(x0, y0, x1, y0 + row_height) for x0, y0, x1, _ in layout.rows]
    for name, macro, x, y, orient in re.findall(
            r"^\s*-\s+(\S+)\s+(\S+)\s+\+\s+(?:PLACED|FIXED)\s+\(\s*(-?\d+)\s+(-?\d+)\s*\)\s*(\w*)",
            _section(text, "COMPONENTS"), re.M):
        layout.components[name] = macro
        layout.placements.append((macro, int(x), int(y)))
        layout.locations[name] = (int(x), int(y), orient or "N")
    _routes(_section(text, "NETS"), layout)
    return layout


@functools.cache
def macro_sizes(lef: Path) -> dict[str, tuple[float, float]]:
    """{macro: (width, height) in um} from a cell LEF."""
    text = Path(lef).read_text(errors="replace")
    return {m: (float(w), float(h)) for m, w, h in re.findall(
        r"^MACRO\s+(\S+).*?^\s*SIZE\s+([0-9.]+)\s+BY\s+([0-9.]+)", text, re.S | re.M)}


def render_die(def_path: Path, pdk: PdkInfo, png: Path) -> Path:
    """PNG of the die: cells as boxes (fill cells pale) and the routed wires, one colour per layer."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.patches import Rectangle

    layout = read_def(def_path)
    sizes, u = macro_sizes(pdk.cell_lef), layout.units
    x0, y0, x1, y1 = (v / u for v in layout.die)
    fig, ax = plt.subplots(figsize=(8, 8 * max(0.2, (y1 - y0) / max(x1 - x0, 1e-9))))
    for is_fill, colour in ((True, "#eeeeee"), (False, "#9db4d6")):
        boxes = [Rectangle((x / u, y / u), *sizes.get(m, (0.0, 0.0)))
                 for m, x, y in layout.placements if (m == pdk.fill) == is_fill]
        ax.add_collection(PatchCollection(boxes, facecolor=colour, edgecolor="#555555", linewidth=0.2))
    layers = sorted({s[0] for s in layout.segments})
    cmap = plt.get_cmap("tab10")
    for i, layer in enumerate(layers):
        lines = [((a / u, b / u), (c / u, d / u)) for name, a, b, c, d in layout.segments if name == layer]
        ax.add_collection(LineCollection(lines, colors=[cmap(i % 10)], linewidths=0.6, label=layer))
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="black", linewidth=1.0))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xlabel("x (um)")
    ax.set_ylabel("y (um)")
    n_cells = sum(m != pdk.fill for m in layout.components.values())
    ax.set_title(f"{Path(def_path).name}: {pdk.library}, {n_cells} cells, "
                 f"{layout.wirelength_um:.0f} um wire, {layout.vias} vias", fontsize=9)
    if layers:
        ax.legend(loc="upper right", fontsize=7, framealpha=0.8)
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=150, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return png
