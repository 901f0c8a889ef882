"""KAN inference on PyTorch (CPU or GPU) with the hardware's quantized basis table: the optional `gpu` group.

    table.py    numpy: the table algorithm every layer below runs (interval, mirrored table read, gather of the
                p+1 active coefficients, integer accumulation); no torch, tested against rtl_gen/golden.py
    layers.py   torch: RecursionLayer (float, Cox-de Boor, efficient-kan style), TableLayer (integer, gathers
                coefficient rows with embedding_bag), FusedTableLayer (one Triton kernel)
    fused.py    the Triton kernel (GPU, or CPU tensors under TRITON_INTERPRET=1)
    network.py  trained `flow train` models (model.json) through the torch layers; accuracy vs table bits
    bench.py    latency, throughput, speedup and memory of the layers (bench/run.py --sections gpu)

Install the group with `pip install -e .[gpu]`; only table.py imports without torch.
"""

MISSING_TORCH = "PyTorch is not installed: pip install -e '.[gpu]' (torch 2.13.0)"


def parse_shape(text: str) -> list[int]:
    """'64x32' (one layer) or '784-256-10' (a network) -> layer widths; ValueError naming the option otherwise."""
    import re

    if not re.fullmatch(r"\d+(x\d+|(-\d+)+)", text) or "0" in re.split(r"[x-]", text):
        raise ValueError(f"--gpu-shapes: '{text}' is not INxOUT (one layer) or A-B-C (a network) of positive widths")
    return [int(w) for w in re.split(r"[x-]", text)]
