"""Benchmarks: side-by-side timings of chainrule against peers. Not part of the test run.

Run ``python -m benchmarks.engine`` from the repository root.
"""
