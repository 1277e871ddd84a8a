"""Simulations of the paper's settings (its Sections 3.2 and 4): random-feature ridge regression,
the two-layer ReLU counterexample under muP, and the top-k trajectory decomposition.

Imports point down: ``simulations`` may use ``theory``, never the reverse.
"""
