"""Accuracy against measured data (application layer): ``gpucast validate`` and the calibration scripts.

- ``report.py``     tables in, per-row errors and the median / p90 summary out (shared by the three below)
- ``inference.py``  serving benchmarks -> predicted vs measured throughput and latency (``validate_file``)
- ``row_fields.py`` what a row's columns and notes say (precisions, engine settings, lengths), for both of these
- ``training.py``   training runs -> predicted vs measured tokens/s, MFU and memory
- ``plans.py``      plan-level validation: does the planner size measured deployments within ±20%?
"""
