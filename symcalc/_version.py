"""The version, in a module of its own so ``symcalc --version`` imports nothing else."""

__version__ = "0.2.0"
