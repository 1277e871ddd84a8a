"""Simulations of the paper's settings (SPEC §4-6): random-feature ridge regression,
the two-layer ReLU counterexample under muP, and the top-k trajectory decomposition.

Imports point down: ``simulations`` may use ``theory``, never the reverse.
"""
