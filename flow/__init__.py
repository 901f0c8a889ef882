"""KAN accelerator design-space exploration flow: configs, verification, physical flow, sweeps."""
