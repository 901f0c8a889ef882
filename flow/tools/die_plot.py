"""Draw a placed or routed DEF (as qflow's place2def / qrouter write it, read by lefdef) as a PNG."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..pdks import PdkInfo
from .lefdef import DefLayout, lef_macros, read_def

CELL, FILL_CELL, EDGE = (0x9d, 0xb4, 0xd6), (0xee, 0xee, 0xee), (0x55, 0x55, 0x55)


Copies = list[tuple[DefLayout, list[tuple[int, int]]]]     # a layout and the offsets it is drawn at


def raster(layout: DefLayout, sizes: dict[str, tuple[float, float]], fill: str | None, colours: list,
           pixels: int = 1600, copies: Copies = ()) -> tuple[np.ndarray, float]:
    """The die as an RGB image (row 0 at the bottom), `pixels` across its longer side -> (image, um per pixel):
    cells as boxes (fill cells pale, an outline where a cell is 4 pixels or more across), then each layer's
    wires in its colour (`colours[i]` for the i-th layer in sorted order, RGB 0..1). `copies`: layouts drawn
    again at each of their offsets (DEF units) after `layout`, in every pass (the tiled array: each macro's own
    DEF at its instances, the picture of the merged DEF without reading it). Drawn straight into an array: a
    16x16 array's merged DEF has ~1M cells and ~3M wire segments, which matplotlib's patch and line collections
    took minutes to draw (measured 122 s at 8x8)."""
    u = layout.units
    x0, y0, x1, y1 = (v / u for v in layout.die)
    step = max(x1 - x0, y1 - y0) / pixels                     # um per pixel
    w, h = max(1, round((x1 - x0) / step)), max(1, round((y1 - y0) / step))
    img = np.full((h, w, 3), 255, np.uint8)                    # [y, x, rgb]
    drawn = [(layout, [(0, 0)]), *copies]

    def px(v: float, lo: float, n: int) -> int:
        return min(n - 1, max(0, int((v - lo) / step)))
    for is_fill in (True, False):
        for part, offsets in drawn:
            for dx, dy in offsets:
                for m, x, y in part.placements:
                    if (m == fill) != is_fill or m not in sizes:
                        continue
                    cw, ch = sizes[m]
                    a, b = px((x + dx) / u, x0, w), px((x + dx) / u + cw, x0, w)
                    c, d = px((y + dy) / u, y0, h), px((y + dy) / u + ch, y0, h)
                    img[c:d + 1, a:b + 1] = FILL_CELL if is_fill else CELL
                    if b - a >= 4 and d - c >= 4:
                        img[[c, d], a:b + 1] = EDGE
                        img[c:d + 1, [a, b]] = EDGE
    for i, layer in enumerate(sorted({s[0] for part, _ in drawn for s in part.segments})):
        rgb = tuple(int(255 * v) for v in colours[i % len(colours)][:3])
        for part, offsets in drawn:
            for dx, dy in offsets:
                for name, a, b, c, d in part.segments:
                    if name == layer:
                        xa, xb = sorted((px((a + dx) / u, x0, w), px((c + dx) / u, x0, w)))
                        ya, yb = sorted((px((b + dy) / u, y0, h), px((d + dy) / u, y0, h)))
                        img[ya:yb + 1, xa:xb + 1] = rgb
    return img, step


def render_die(def_path: Path, pdk: PdkInfo, png: Path, copies: dict[Path, list[tuple[int, int]]] | None = None
               ) -> Path:
    """PNG of the die: cells as boxes (fill cells pale) and the routed wires, one colour per layer. `copies`:
    {macro DEF: its instances' origins}, drawn on the array-level DEF `def_path` (raster)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    layout = read_def(def_path)
    drawn = [(read_def(f), offsets) for f, offsets in (copies or {}).items()]
    u = layout.units
    x0, y0, x1, y1 = (v / u for v in layout.die)
    layers = sorted({s[0] for part in [layout, *(d for d, _ in drawn)] for s in part.segments})
    colours = [plt.get_cmap("tab10")(i) for i in range(10)]
    sizes = {m: (c.width, c.height) for m, c in lef_macros(pdk.cell_lef).items()}
    img, _ = raster(layout, sizes, pdk.fill, colours, copies=drawn)
    fig, ax = plt.subplots(figsize=(8, 8 * max(0.2, (y1 - y0) / max(x1 - x0, 1e-9))))
    ax.imshow(img, extent=(x0, x1, y0, y1), origin="lower", interpolation="antialiased")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x (um)")
    ax.set_ylabel("y (um)")
    # what the merged DEF holds: the array level's cells (not the macro instances) and every copy's
    n_cells = (sum(m != pdk.fill and m in sizes for m in layout.components.values())
               + sum(len(o) * sum(m != pdk.fill for m in d.components.values()) for d, o in drawn))
    wire = layout.wirelength_um + sum(len(o) * d.wirelength_um for d, o in drawn)
    vias = layout.vias + sum(len(o) * d.vias for d, o in drawn)
    name = Path(def_path).name + (f" + {sum(len(o) for _, o in drawn)} macro instances" if drawn else "")
    ax.set_title(f"{name}: {pdk.library}, {n_cells} cells, "
                 f"{wire:.0f} um wire, {vias} vias", fontsize=9)
    if layers:
        ax.legend([Line2D([], [], color=colours[i % 10]) for i in range(len(layers))], layers, loc="upper right",
                  fontsize=7, framealpha=0.8)
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=150, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return png
