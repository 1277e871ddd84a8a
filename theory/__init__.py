"""The rate framework of the paper (its Section 3.1): a_n, b_n, c_n, rate estimation,
synthetic families and the compute-optimal grid-search model.

Pure numpy/scipy: nothing here imports JAX or ``simulations``.
"""
