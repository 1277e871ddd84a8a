"""The rate framework of the paper (SPEC §1-3): a_n, b_n, c_n, rate estimation,
synthetic families and the compute-optimal grid-search model.

Pure numpy/scipy: nothing here imports JAX or ``simulations``.
"""
