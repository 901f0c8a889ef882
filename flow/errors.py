"""Errors the CLI reports as one line (no traceback): user errors exit 2, tool failures exit 1. FlowError, the
base of them all, is config_schema/errors.py's (kan/ raises it too); the tool errors are the flow's own."""
from __future__ import annotations

from config_schema.errors import FlowError

__all__ = ["FlowError", "RouteIncomplete", "ToolFailed", "ToolMissing"]


class ToolMissing(FlowError):
    def __init__(self, tool: str, install: str):
        super().__init__(f"{tool} not found on PATH: install it with `{install}`")
        self.tool, self.install = tool, install


class ToolFailed(FlowError):
    def __init__(self, step: str, log: str, detail: str = ""):
        super().__init__(f"{step} failed" + (f": {detail}" if detail else "") + f" (log: {log})")
        self.step, self.log, self.detail = step, log, detail


class RouteIncomplete(ToolFailed):
    """The router finished with `failed` nets unrouted (a congestion failure, unlike a crash)."""
    def __init__(self, step: str, log: str, failed: int, total: int):
        super().__init__(step, log, f"{failed} nets failed")
        self.failed, self.total = failed, total
