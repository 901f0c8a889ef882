"""KAN models for the accelerator: numpy training, hardware-exact quantization, RTL inference.

`accuracy_for(model_path, params)` scores a saved model on a design point (what `flow sweep` calls).
"""
from .accuracy import accuracy_for

__all__ = ["accuracy_for"]
