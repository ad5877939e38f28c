"""Statistical observations: metrics, values by area, period and breakdown, and load batches."""
