"""Speed, memory and statistical-quality benchmarks (``python3 tasks.py bench``)."""
