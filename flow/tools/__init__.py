"""One module per external tool: each runs its tool from a small template and returns parsed metrics."""
