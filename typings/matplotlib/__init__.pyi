# The parts of matplotlib that benchmarks/peers/chart.py uses (a bench-only dependency).
