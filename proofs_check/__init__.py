"""Symbolic (sympy) checks of Theorems 1-3: each check derives its expressions and
returns them with a boolean, so a test can assert it and the verify report can print
the derived formulas."""
