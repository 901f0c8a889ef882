"""The errors the CLI reports as one line (no traceback): user errors exit 2, tool failures exit 1. flow/errors.py
adds the tool errors (ToolMissing, ToolFailed, RouteIncomplete)."""
from __future__ import annotations

MESSAGE_CHARS = 500        # no error message is longer than this


class FlowError(Exception):
    """A failure the user must see as one line; `exit_code` is what the CLI returns."""
    exit_code = 1


class ConfigError(FlowError):
    """A user error in a config file; str() is the one-line message the CLI prints (as every FlowError), exit 2.

    Every message is built from cut values (`short`); this is the last guard that it stays one printable line
    of bounded length whatever went into it (a key name with a newline, a path of 10 kB)."""

    exit_code = 2

    def __init__(self, message: str):
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message)[:MESSAGE_CHARS * 4])
        super().__init__(text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + "...")
