"""The two classroom benchmarks' parts (bench/classroom_mode.py, bench/classroom_load.py run
them). Imported by those scripts, which put the repo root and bench/ on sys.path first."""
