"""gpucast's version: a module of its own so any layer can stamp it on a plan without importing the package root."""

__version__ = "0.1.0"
