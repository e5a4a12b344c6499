"""Benchmarks (``make bench``): ours against the peers, measured in the same run."""
