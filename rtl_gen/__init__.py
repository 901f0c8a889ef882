"""KAN systolic-array RTL generator (Migen) and its bit-exact golden model."""
from .params import KanParams

__all__ = ["KanParams"]
