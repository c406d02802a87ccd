"""Independent peer simulators used as references by tests and benchmarks (optional deps)."""
