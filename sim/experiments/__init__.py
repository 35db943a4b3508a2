"""Experiments, computed only (no files, no figures): jobs and their execution
backends, run records, statistics, sweeps, comparisons, capacity plans, options
studies and the validation against queueing theory.
"""
