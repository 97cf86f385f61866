"""Command-line entry points: make the toy datasets, build the student edition, benchmark.

Also downloads the real datasets (``python -m data_scripts.download``).
"""
