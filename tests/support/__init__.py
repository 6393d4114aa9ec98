"""Helpers shared by tests and benchmarks: ports, processes, metrics. Defined once, imported everywhere."""
