"""tinygrad_kr's speed suite: `python -m benchmarks --help`; see benchmarks/README.md."""
