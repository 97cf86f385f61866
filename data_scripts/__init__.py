"""Command-line entry points: make the toy datasets, build the student edition, benchmark notebooks."""
