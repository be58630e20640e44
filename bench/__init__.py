"""Benchmarks for `make bench`. Each one runs its peer (the bare driver) in the same run."""
