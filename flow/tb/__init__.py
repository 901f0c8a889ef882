"""cocotb test modules (run by flow.verify, never imported by the flow itself)."""
