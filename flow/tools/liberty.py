"""Liberty files in the form every tool here reads: unpacked (OpenSTA 2.0 cannot read .gz), one file."""
from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

from ..pdks import REPO, PdkInfo

CACHE = Path(os.environ.get("KAN_CACHE", REPO / "build" / ".cache"))


def _read(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()


def prepared_liberty(pdk: PdkInfo) -> Path:
    """One unpacked typical-corner liberty for the PDK, cached by the content of its sources."""
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in pdk.liberty_files)).hexdigest()[:16]
    out = CACHE / "liberty" / f"{pdk.name}-{digest}.lib"
    if out.exists():
        return out
    if len(pdk.liberty_files) == 1:
        text = _read(pdk.liberty_files[0])
    else:
        text = merge_liberties([_read(p) for p in pdk.liberty_files])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(text)
    tmp.replace(out)
    return out


def merge_liberties(texts: list[str]) -> str:
    """Merge several liberty libraries into one (asap7 ships five): header of the first, then
    every lu_table_template/type the first lacks, then all cells."""
    raise NotImplementedError("asap7 liberty merge: see flow/tools/liberty.py")
