import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FLOW = [sys.executable, "-m", "flow.cli"]


@pytest.fixture
def write_yaml(tmp_path):
    """Write a YAML text to a temp file and return its path."""
    def _write(text: str, name: str = "cfg.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path
    return _write
