"""Every number the flow reports carries its unit and where it came from (tool + file)."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Metric:
    value: float | int | str | bool | None
    unit: str          # "um^2", "MHz", "ns", "s", "MB", "cells", "" for plain counts/flags
    tool: str          # "yosys 0.70", "opensta 2.0.17", "qrouter 1.4.71", "flow"
    source: str        # file the value was parsed from (log or report), relative to the run folder

    def as_dict(self) -> dict:
        return asdict(self)


Metrics = dict[str, Metric]
