"""Standard-cell libraries: where their data lives and the cells the flow must know by name.

Data folders, searched in this order (each holds `lambdapdk/<pdk>/...`, the lambdapdk tree):
  1. the `--pdk-root` option, else $KAN_PDK_ROOT: when given, the only place searched
  2. ~/.local/share/kan-dse/pdks/lambdapdk   (where `flow pdk install` puts data)
  3. ../shared/pdks/lambdapdk                (beside the checkout; CI uses it)
osu018 comes from Debian's qflow-tech-osu018 package and needs no data folder.

Everything the flow knows about one PDK is its record in RECORDS (the way ORFS keeps a platform config): library
files, the cells it must know by name, the qflow P&R settings (PnrTech), the routing layers and the roles the
tiled flow gives them (LayerRoles), and the physical modes it supports. Code elsewhere reads these fields, never
a PDK's name.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import FlowError

REPO = Path(__file__).resolve().parent.parent
USER_PDK_ROOT = Path.home() / ".local/share/kan-dse/pdks"
SHARED_PDK_ROOT = REPO.parent / "shared/pdks/lambdapdk"
OSU018_DIR = Path("/usr/share/qflow/tech/osu018")


class PdkMissing(FlowError):
    exit_code = 2


@dataclass(frozen=True)
class CellPin:
    cell: str
    inputs: tuple[str, ...]
    output: str


@dataclass(frozen=True)
class PnrTech:
    """qflow P&R settings of one PDK (each value other than a default measured on these tools; why beside it)."""
    par: str                        # GrayWolf parameter file: in flow/tools/qflow_pnr/, or an absolute path
    layers: int                     # routing layers given to qrouter
    density: float                  # default placement density for decongest (routability knob)
    # blifFanout max latency per gate (ps) and max load (fF). Its defaults buffer high fanout and resize little:
    # "-l 100 -c 20" (qflow's osu018 setting) doubled the tiny sky130hd design's cell area (4.9k -> 9.5k um^2).
    fanout: str = "-l 1000 -c 30"
    separator: str = ""             # between cell base name and drive strength ("" = none)
    via_use: str = ""               # qrouter `via use` list
    # rewrite the .info track offsets (pins half a pitch in): one value for every layer, or {layer: offset}
    track_offset_um: float | dict[str, float] | None = None
    # qrouter's copy of the tech LEF: {layer: "PITCH ... ; OFFSET ... ;"} replaces the layer's PITCH/OFFSET
    # statements, and VIARULEs whose names match `drop_viarules` (a regex) are deleted
    lef_pitches: tuple[tuple[str, str], ...] = ()
    drop_viarules: str = ""
    snap_x: bool = False            # put fill cells back on the .par's site grid (*gridOffsetX + k * *gridX)
    stage2_passes: int = 6          # bounded `stage2 mask 90 effort 20` passes before the last `mask none`
    max_layers: int | None = None   # every routing layer, for place(relief=True); None: `layers`


@dataclass(frozen=True)
class LayerRoles:
    """Routing layers as the tech LEF names them, and the roles the tiled flow gives them."""
    routing: tuple[str, ...]        # every routing layer, bottom up (a macro's LEF abstract blocks these)
    pin_h: str                      # horizontal layer of a macro's west/east edge pins
    pin_v: str                      # vertical layer of its north/south edge pins
    row_tracks: str                 # horizontal layer whose tracks set the glue rows' offset and the macro's
                                    # bottom/top edge grid lines (the cells' first metal)
    free_top: bool = False          # the top layer stays empty inside macros, for the array router to cross them
    local: str | None = None        # a high-resistance local-interconnect layer that array-level wires keep out
                                    # of the channels and die margins (it reaches the cells' pins in the strips)

    @property
    def cell_pins(self) -> str:
        """The layer of the standard cells' signal pins (the lowest routing layer)."""
        return self.routing[0]

    @property
    def free(self) -> tuple[str, ...]:
        return (self.routing[-1],) if self.free_top else ()


@dataclass(frozen=True)
class PdkRecord:
    """One PDK as the flow knows it. Paths are relative to <root>/lambdapdk/ (the lambdapdk repository layout),
    or absolute for a PDK installed by Debian (`lambdapdk_class` None)."""
    library: str                    # standard-cell library name
    node_nm: int
    liberty: tuple[str, ...]        # typical corner, as shipped (may be .gz, several for asap7)
    tech_lef: str | None            # None where the cell LEF carries the technology (osu018)
    cell_lef: str
    dont_use: tuple[str, ...]       # glob patterns kept out of synthesis and buffering
    buffer: CellPin
    clock_buffer: CellPin
    # the levels above the leaves of the array's buffer trees (flow/tiled/buffertree.py: wires across many PE
    # pitches): a stronger clock buffer than clock_buffer (sky130hd clkbuf_8: twice clkbuf_4's drive, and still
    # fits a channel crossing)
    tree_buffer: CellPin
    inverter: CellPin
    nand2: CellPin                  # area unit for NAND2-equivalents
    tie_hi: CellPin | None          # None: constants tie to the power/ground nets
    tie_lo: CellPin | None
    fill: str
    power: str
    ground: str
    pnr: PnrTech
    layers: LayerRoles | None       # None: no layer roles set up, so no tiled flow
    lambdapdk_class: str | None = None   # "module:Class" of the lambdapdk library, for SiliconCompiler
    install: str = ""               # how to get the data where it does not come from a lambdapdk tree
    # physical modes (flow.physical) this PDK cannot run, with the reason
    unsupported: tuple[tuple[str, str], ...] = ()
    # in bench/run.py's default PDK set (trend, calib). Not asap7: its tech LEF has no R/C, so a post-route
    # column would hold unrouted timing, and the committed bench reports leave it out
    bench: bool = True


@dataclass(frozen=True)
class PdkInfo:
    """A PDK's record with its data files found (resolve)."""
    name: str                       # config name: sky130hd, gf180mcu, asap7, osu018
    library: str
    node_nm: int
    liberty_files: tuple[Path, ...]
    tech_lef: Path | None
    cell_lef: Path
    dont_use: tuple[str, ...]
    buffer: CellPin
    clock_buffer: CellPin
    tree_buffer: CellPin
    inverter: CellPin
    nand2: CellPin
    tie_hi: CellPin | None
    tie_lo: CellPin | None
    fill: str
    power: str
    ground: str
    pnr: PnrTech = field(compare=False)      # compare=False: asap7's holds a dict; the name decides it anyway
    layers: LayerRoles | None = None
    lambdapdk_class: str | None = None
    lambdapdk_root: Path | None = None   # the data folder the files were found in (None: Debian's osu018)
    unsupported: tuple[tuple[str, str], ...] = ()


def _lambdapdk_roots(pdk_root: str | Path | None) -> list[Path]:
    """An explicit root (option or $KAN_PDK_ROOT) is the only place searched; else the default places."""
    explicit = pdk_root or os.environ.get("KAN_PDK_ROOT")
    return [Path(explicit)] if explicit else [USER_PDK_ROOT / "lambdapdk", SHARED_PDK_ROOT]


RECORDS = {
    "sky130hd": PdkRecord(
        library="sky130_fd_sc_hd", node_nm=130,
        liberty=("sky130/libs/sky130hd/nldm/sky130_fd_sc_hd__tt_025C_1v80.lib.gz",),
        tech_lef="sky130/base/apr/sky130_fd_sc.tlef", cell_lef="sky130/libs/sky130hd/lef/sky130_fd_sc_hd_merged.lef",
        dont_use=("*lpflow*", "*probe*", "*xor3_4", "*a222oi_1", "*inv_1", "*edfx*", "*sedfx*",
                  "*dlygate*", "*dlymetal*", "*clkdly*", "*buf_16", "*diode*", "*fill*", "*tap*", "*decap*",
                  "*conb*", "*macro_sparecell*", "*mux4*",
                  # qrouter reached none of the dfxtp_1/_2 D pins nor the mux2_1 X pins (li1 pins 0.04 um off
                  # the track, measured on the tiny design); dfxtp_4 and mux2_2 have reachable pins
                  "*dfxtp_1", "*dfxtp_2", "*mux2_1"),
        buffer=CellPin("sky130_fd_sc_hd__buf_2", ("A",), "X"),
        clock_buffer=CellPin("sky130_fd_sc_hd__clkbuf_4", ("A",), "X"),
        tree_buffer=CellPin("sky130_fd_sc_hd__clkbuf_8", ("A",), "X"),
        inverter=CellPin("sky130_fd_sc_hd__inv_2", ("A",), "Y"),
        nand2=CellPin("sky130_fd_sc_hd__nand2_1", ("A", "B"), "Y"),
        tie_hi=CellPin("sky130_fd_sc_hd__conb_1", (), "HI"), tie_lo=CellPin("sky130_fd_sc_hd__conb_1", (), "LO"),
        fill="sky130_fd_sc_hd__fill_1", power="VPWR", ground="VGND",
        pnr=PnrTech(par="sky130hd.par", layers=6, density=0.5, separator="_",
                    via_use="L1M1_PR M1M2_PR M2M3_PR M3M4_PR M4M5_PR", snap_x=True),
        layers=LayerRoles(("li1", "met1", "met2", "met3", "met4", "met5"), pin_h="met3", pin_v="met2",
                          row_tracks="met1", free_top=True, local="li1"),
        lambdapdk_class="lambdapdk.sky130.libs.sky130sc:Sky130_SCHDLibrary"),
    "gf180mcu": PdkRecord(
        library="gf180mcu_fd_sc_mcu9t5v0", node_nm=180,
        liberty=("gf180/libs/gf180mcu_fd_sc_mcu9t5v0/nldm/gf180mcu_fd_sc_mcu9t5v0__tt_025C_5v00.lib.gz",),
        tech_lef="gf180/base/apr/gf180mcu_5LM_1TM_9K_9t_tech.lef",
        cell_lef="gf180/libs/gf180mcu_fd_sc_mcu9t5v0/lef/gf180mcu_fd_sc_mcu9t5v0.lef",
        dont_use=("*endcap*", "*fill*", "*filltie*", "*antenna*", "*icgt*", "*dly*", "*_20", "*_16", "*_12",
                  "*latsnq*", "*sdff*", "*tie*"),
        buffer=CellPin("gf180mcu_fd_sc_mcu9t5v0__buf_2", ("I",), "Z"),
        clock_buffer=CellPin("gf180mcu_fd_sc_mcu9t5v0__buf_4", ("I",), "Z"),
        tree_buffer=CellPin("gf180mcu_fd_sc_mcu9t5v0__clkbuf_8", ("I",), "Z"),
        inverter=CellPin("gf180mcu_fd_sc_mcu9t5v0__inv_1", ("I",), "ZN"),
        nand2=CellPin("gf180mcu_fd_sc_mcu9t5v0__nand2_1", ("A1", "A2"), "ZN"),
        tie_hi=CellPin("gf180mcu_fd_sc_mcu9t5v0__tieh", (), "Z"),
        tie_lo=CellPin("gf180mcu_fd_sc_mcu9t5v0__tiel", (), "ZN"),
        fill="gf180mcu_fd_sc_mcu9t5v0__fill_1", power="VDD", ground="VSS",
        pnr=PnrTech(par="gf180mcu.par", layers=4, density=0.75, separator="_", track_offset_um=0.28,
                    max_layers=5),
        layers=LayerRoles(("Metal1", "Metal2", "Metal3", "Metal4", "Metal5"), pin_h="Metal3", pin_v="Metal2",
                          row_tracks="Metal1"),
        lambdapdk_class="lambdapdk.gf180.libs.gf180mcu:GF180_MCU_9T_5LMLibrary"),
    "asap7": PdkRecord(
        library="asap7sc7p5t_rvt", node_nm=7,
        liberty=tuple(f"asap7/libs/asap7sc7p5t_rvt/nldm/asap7sc7p5t_{g}_RVT_TT_nldm.lib.gz"
                      for g in ("INVBUF", "AO", "OA", "SEQ", "SIMPLE")),
        tech_lef="asap7/base/apr/asap7_tech.lef", cell_lef="asap7/libs/asap7sc7p5t_rvt/lef/asap7sc7p5t_28_R.lef",
        dont_use=("ICG*", "SDF*", "DHL*", "DLL*", "DFFL*", "DFFASRHQN*", "*DC_*", "HB*", "*x24*", "*16f*",
                  "NAND3x1*", "NAND3x2*", "NOR2x2*", "NOR3x2*", "OAI21x1*", "TIE*", "FILL*", "TAP*", "DECAP*"),
        buffer=CellPin("BUFx2_ASAP7_75t_R", ("A",), "Y"),
        clock_buffer=CellPin("BUFx4_ASAP7_75t_R", ("A",), "Y"),
        tree_buffer=CellPin("BUFx8_ASAP7_75t_R", ("A",), "Y"),
        inverter=CellPin("INVx1_ASAP7_75t_R", ("A",), "Y"),
        nand2=CellPin("NAND2xp5_ASAP7_75t_R", ("A", "B"), "Y"),
        tie_hi=CellPin("TIEHIx1_ASAP7_75t_R", (), "H"), tie_lo=CellPin("TIELOx1_ASAP7_75t_R", (), "L"),
        fill="FILLERxp5_ASAP7_75t_R", power="VDD", ground="VSS",
        # M1 pins sit on the 0.054 um gate pitch, not the 0.036 um track pitch; the wide power VIARULEs would be
        # used for signals and make every flop's D and CLK unroutable
        pnr=PnrTech(par="asap7.par", layers=5, density=0.5, fanout="-l 100 -c 5", separator="x",
                    track_offset_um={"M1": 0.027, "M2": 0.018},
                    lef_pitches=(("M1", "PITCH 0.054 ; OFFSET 0.0 ;"), ("M2", "PITCH 0.036 ; OFFSET 0.0 ;"),
                                 ("M3", "PITCH 0.054 ; OFFSET 0.0 ;"), ("M4", "PITCH 0.072 ; OFFSET 0.0 ;"),
                                 ("M5", "PITCH 0.054 ; OFFSET 0.0 ;"), ("M6", "PITCH 0.072 ; OFFSET 0.0 ;"),
                                 ("M7", "PITCH 0.108 ; OFFSET 0.0 ;"), ("M8", "PITCH 0.108 ; OFFSET 0.0 ;"),
                                 ("M9", "PITCH 0.108 ; OFFSET 0.0 ;")),
                    drop_viarules=r"widePWR"),
        layers=None, bench=False,
        lambdapdk_class="lambdapdk.asap7.libs.asap7sc7p5t:ASAP7SC7p5RVT",
        unsupported=(("tiled", "no macro pin layers are set up for asap7 (its flat flow routes, the tiled one was "
                               "never tried)"),)),
    "osu018": PdkRecord(
        library="osu018_stdcells", node_nm=180, liberty=(f"{OSU018_DIR}/osu018_stdcells.lib",), tech_lef=None,
        cell_lef=f"{OSU018_DIR}/osu018_stdcells.lef", dont_use=("LATCH", "TBUF*", "DFFNEG*", "CLKBUF*"),
        buffer=CellPin("BUFX2", ("A",), "Y"), clock_buffer=CellPin("CLKBUF1", ("A",), "Y"),
        tree_buffer=CellPin("CLKBUF2", ("A",), "Y"),
        inverter=CellPin("INVX1", ("A",), "Y"), nand2=CellPin("NAND2X1", ("A", "B"), "Y"),
        tie_hi=None, tie_lo=None, fill="FILL", power="vdd", ground="gnd",
        pnr=PnrTech(par=f"{OSU018_DIR}/osu018.par", layers=4, density=0.6),
        layers=LayerRoles(("metal1", "metal2", "metal3", "metal4"), pin_h="metal3", pin_v="metal2",
                          row_tracks="metal1"),
        install="apt-get install -y qflow-tech-osu018"),
}
NAMES = tuple(RECORDS)
BENCH = tuple(n for n, r in RECORDS.items() if r.bench)
LAMBDAPDK = tuple(n for n, r in RECORDS.items() if r.lambdapdk_class)


def copy_log(src: Path, dst: Path) -> None:
    """Copy a tool log into a report with this machine's paths made relative: the work tree's to the repository
    root (`build/...`), a folder beside it to `../` (`../shared/pdks/...`), the home folder to `~/`; so a committed
    or copied report names no machine path."""
    text = Path(src).read_text(errors="surrogateescape")
    for prefix, short in ((REPO, ""), (REPO.parent, "../"), (Path.home(), "~/")):
        text = text.replace(f"{prefix}/", short)
    Path(dst).write_text(text, errors="surrogateescape")


def unsupported(name: str, mode: str) -> str:
    """Why PDK `name` cannot run physical mode `mode` ('' when it can)."""
    return dict(RECORDS[name].unsupported).get(mode, "") if name in RECORDS else ""


def names_supporting(mode: str) -> tuple[str, ...]:
    return tuple(n for n in RECORDS if not unsupported(n, mode))


def _info(name: str, record: PdkRecord, base: Path, root: Path | None) -> PdkInfo:
    fields = {f: getattr(record, f) for f in PdkInfo.__dataclass_fields__ if hasattr(record, f)}
    fields.update(liberty_files=tuple(base / f for f in record.liberty),
                  tech_lef=base / record.tech_lef if record.tech_lef else None, cell_lef=base / record.cell_lef)
    return PdkInfo(name=name, lambdapdk_root=root, **fields)


def resolve(name: str, pdk_root: str | Path | None = None) -> PdkInfo:
    """The library's data, or PdkMissing naming the PDK, the paths searched and the fix."""
    if name not in RECORDS:
        raise PdkMissing(f"pdk {name!r}: unknown; known: {', '.join(RECORDS)}")
    spec = RECORDS[name]
    if not spec.lambdapdk_class:
        lib = Path(spec.liberty[0])
        if not lib.exists():
            raise PdkMissing(f"pdk {name}: {lib} not found: install it with `{spec.install}`")
        return _info(name, spec, Path("/"), None)
    roots = _lambdapdk_roots(pdk_root)
    for root in roots:
        base = root / "lambdapdk"
        files = [base / f for f in (*spec.liberty, spec.tech_lef, spec.cell_lef)]
        if all(f.exists() for f in files):
            break
    else:
        first = roots[0] / "lambdapdk" / spec.liberty[0]
        also = f" and in {', '.join(str(r) for r in roots[1:])}" if roots[1:] else ""
        raise PdkMissing(f"pdk {name}: data not found (looked for {first}{also}): run "
                         f"`flow pdk install {name}` (downloads it; offline: add --from DIR) or pass --pdk-root "
                         f"DIR (a folder holding lambdapdk/{spec.liberty[0].split('/')[0]}/...)")
    return _info(name, spec, base, root)


def install(name: str, source: str | Path | None = None, dest: str | Path | None = None) -> tuple[Path, int]:
    """`flow pdk install`: copy the lambdapdk subset of `name` from `source` (a folder holding lambdapdk/<pdk>/,
    default the shared folder) into `dest` (default ~/.local/share/kan-dse/pdks/lambdapdk), checking every file
    against MANIFEST.tsv (sha256) where the source has one. Returns (dest root, files copied)."""
    import hashlib
    import shutil

    if name not in LAMBDAPDK:
        others = "; ".join(f"{n} comes with `{r.install}`" for n, r in RECORDS.items() if n not in LAMBDAPDK)
        raise PdkMissing(f"pdk {name!r}: nothing to install ({others}); known: {', '.join(LAMBDAPDK)}")
    spec = RECORDS[name]
    src, dst = Path(source or SHARED_PDK_ROOT).resolve(), Path(dest or USER_PDK_ROOT / "lambdapdk")
    top = spec.liberty[0].split("/")[0]
    needed = [src / "lambdapdk" / f for f in (*spec.liberty, spec.tech_lef, spec.cell_lef)]
    missing = [f for f in needed if not f.is_file()]
    if missing:
        raise PdkMissing(f"pdk {name}: {missing[0]} not found: --from must name a folder holding "
                         f"lambdapdk/{top}/... (the lambdapdk repository layout)")
    sums = {}
    for manifest in (src / "MANIFEST.tsv", src.parent / "MANIFEST.tsv"):
        if manifest.is_file():
            for line in manifest.read_text().splitlines()[1:]:   # path<TAB>bytes<TAB>sha256, path under
                path, _, digest = line.split("\t")                  # .../lambdapdk/lambdapdk/<pdk>/...
                if "lambdapdk/lambdapdk/" in path:
                    sums[path.split("lambdapdk/lambdapdk/", 1)[1]] = digest
    files = sorted(f for f in (src / "lambdapdk" / top).rglob("*") if f.is_file())
    for f in files:
        digest = sums.get(str(f.relative_to(src / "lambdapdk")))
        if digest and hashlib.sha256(f.read_bytes()).hexdigest() != digest:
            raise PdkMissing(f"pdk {name}: {f}: sha256 differs from MANIFEST.tsv: the source is damaged")
    for f in files:
        out = dst / f.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, out)
    for lic in [*src.glob("LICENSE*"), *src.parent.glob("LICENSE*")]:
        shutil.copy2(lic, dst / lic.name)
    return dst, len(files)


MANIFEST = Path(__file__).parent / "lambdapdk_manifest.tsv"   # = ../shared/pdks/MANIFEST.tsv: path, bytes, sha256


def manifest(path: Path = MANIFEST) -> dict[str, tuple[int, str]]:
    """{path under lambdapdk/ (e.g. sky130/base/apr/sky130_fd_sc.tlef): (bytes, sha256)}."""
    out = {}
    for line in path.read_text().splitlines()[1:]:
        rel, size, digest = line.split("\t")
        out[rel.split("lambdapdk/lambdapdk/", 1)[1]] = (int(size), digest)
    return out


def lambdapdk_archive_url() -> str:
    """The archive lambdapdk itself declares for its installed version: its `lambdapdk` dataroot (a GitHub
    archive folder plus the version tag), fetched as <path><tag>.tar.gz as SiliconCompiler's HTTP resolver does."""
    module, cls = RECORDS["sky130hd"].lambdapdk_class.split(":")
    import importlib
    lib = getattr(importlib.import_module(module), cls)()
    path, tag = lib.get("dataroot", "lambdapdk", "path"), lib.get("dataroot", "lambdapdk", "tag")
    if not path.startswith(("http://", "https://")):
        return ""      # an editable lambdapdk checkout: its data is on disk already
    return path if path.endswith((".tar.gz", ".tgz")) else f"{path}{tag}.tar.gz"


class _ProgressBar:
    """`[#####     ]  12.3 / 45.6 MB` on one line of `stream` (a line per 10% when it is not a terminal)."""

    def __init__(self, total: int | None, stream):
        self.total, self.stream, self.done, self.shown = total, stream, 0, -1

    def add(self, n: int) -> None:
        self.done += n
        mb = f"{self.done / 1e6:6.1f}" + (f" / {self.total / 1e6:.1f} MB" if self.total else " MB")
        if self.total:
            frac = min(1.0, self.done / self.total)
            step = int(frac * 10)
            line = f"[{'#' * int(frac * 30):<30}] {mb}"
        else:
            step, line = int(self.done / 5e6), f"downloaded {mb}"
        if self.stream.isatty():
            self.stream.write("\r" + line)
        elif step != self.shown:
            self.stream.write(line + "\n")
        self.shown = step
        self.stream.flush()

    def close(self) -> None:
        if self.stream.isatty():
            self.stream.write("\n")
            self.stream.flush()


def download(name: str, url: str | None = None, dest: str | Path | None = None, stream=None) -> tuple[Path, int]:
    """`flow pdk install NAME` without --from: fetch lambdapdk's archive (`url`, else $KAN_PDK_URL, else the
    archive lambdapdk declares for its pinned version), keep only the files of NAME listed in MANIFEST.tsv, each
    checked against its size and sha256, and move them into `dest` in one rename. The download and the unpacked
    files stay in temporary names beside `dest` until all of them are checked: an interrupted or refused install
    leaves nothing behind. Returns (dest root, files installed)."""
    import hashlib
    import http.client
    import shutil
    import sys
    import tarfile
    import urllib.error
    import urllib.request

    if name not in LAMBDAPDK:
        others = "; ".join(f"{n} comes with `{r.install}`" for n, r in RECORDS.items() if n not in LAMBDAPDK)
        raise PdkMissing(f"pdk {name!r}: nothing to download ({others}); known: {', '.join(LAMBDAPDK)}")
    stream = stream or sys.stderr
    top = RECORDS[name].liberty[0].split("/")[0]
    wanted = {rel: sd for rel, sd in manifest().items() if rel.startswith(top + "/")}
    url = url or os.environ.get("KAN_PDK_URL") or lambdapdk_archive_url()
    if not url:
        raise PdkMissing(f"pdk {name}: lambdapdk is installed from a checkout, which holds its data: pass "
                         f"--pdk-root <checkout> or `flow pdk install {name} --from DIR`")
    dst = Path(dest or USER_PDK_ROOT / "lambdapdk")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.parent / f".{dst.name}-{name}-{os.getpid()}.partial"
    archive = tmp / "archive.tar.gz"
    staging = tmp / "lambdapdk" / top
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        stream.write(f"downloading {url}\n")
        try:
            with urllib.request.urlopen(url, timeout=60) as resp, open(archive, "wb") as out:
                length = resp.headers.get("Content-Length")
                bar = _ProgressBar(int(length) if length else None, stream)
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
                    bar.add(len(chunk))
                bar.close()
                if length and bar.done != int(length):
                    raise PdkMissing(f"pdk {name}: download of {url} stopped at {bar.done} of {length} bytes: "
                                     "run the command again")
        except http.client.IncompleteRead as exc:
            raise PdkMissing(f"pdk {name}: download of {url} stopped after {len(exc.partial)} bytes of a chunk: "
                             "run the command again") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PdkMissing(f"pdk {name}: cannot download {url} ({reason}): on a machine without network run "
                             f"`flow pdk install {name} --from DIR` or pass --pdk-root DIR") from None
        found: dict[str, Path] = {}
        try:
            with tarfile.open(archive, "r:*") as tar:
                for member in tar:
                    rel = member.name.split("/lambdapdk/", 1)[-1] if "/lambdapdk/" in member.name else ""
                    if member.isfile() and rel in wanted:
                        target = staging / rel.split("/", 1)[1]
                        target.parent.mkdir(parents=True, exist_ok=True)
                        with tar.extractfile(member) as src, open(target, "wb") as out:
                            shutil.copyfileobj(src, out)
                        found[rel] = target
                    elif member.isfile() and member.name.count("/") == 1 and member.name.endswith("/LICENSE"):
                        with tar.extractfile(member) as src, open(tmp / "LICENSE.lambdapdk", "wb") as out:
                            shutil.copyfileobj(src, out)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise PdkMissing(f"pdk {name}: {url} is not a readable tar archive ({exc})") from None
        missing = sorted(set(wanted) - set(found))
        if missing:
            raise PdkMissing(f"pdk {name}: {url} lacks lambdapdk/{missing[0]} (and {len(missing) - 1} more): "
                             f"not the lambdapdk layout MANIFEST.tsv describes")
        for rel, path in sorted(found.items()):
            size, digest = wanted[rel]
            got = hashlib.sha256(path.read_bytes()).hexdigest()
            if got != digest or path.stat().st_size != size:
                raise PdkMissing(f"pdk {name}: lambdapdk/{rel} from {url}: sha256 {got[:12]}... differs from "
                                 f"MANIFEST.tsv ({digest[:12]}...): refused, nothing installed")
        # all checked: one rename puts the PDK's folder in place (an older copy is moved aside, then deleted)
        (dst / "lambdapdk").mkdir(parents=True, exist_ok=True)
        final, old = dst / "lambdapdk" / top, tmp / "old"
        if final.exists():
            final.rename(old)
        staging.rename(final)
        if (tmp / "LICENSE.lambdapdk").exists():
            os.replace(tmp / "LICENSE.lambdapdk", dst / "LICENSE.lambdapdk-Apache-2.0")
        return dst, len(found)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def listing(pdk_root: str | Path | None = None) -> list[tuple[str, str, str]]:
    """(pdk, library, where its data resolves or why not) for `flow pdk list`."""
    rows = []
    for name in RECORDS:
        try:
            info = resolve(name, pdk_root)
            rows.append((name, info.library, str(info.liberty_files[0].parent)))
        except PdkMissing as exc:
            rows.append((name, RECORDS[name].library, f"MISSING: {exc}"))
    return rows
