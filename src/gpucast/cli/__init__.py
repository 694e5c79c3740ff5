"""The `gpucast` command line: argument parsing and rendering only; every answer comes from the layers below.

`main.py` is the console script (`gpucast = gpucast.cli.main:main`).
"""
