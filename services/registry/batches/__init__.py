"""Export batches (出口批次), the lots that made them, and their lineage (追溯)."""
