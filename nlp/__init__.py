"""A library: text in, arrays and DataFrames out. Never reads settings or the store.

numba compiles UMAP's kernels for the CPU it runs on, and code built for different CPU features rounds
differently, which moves UMAP's layout and so the topics. Unless the environment says otherwise, numba
targets the generic x86-64 (or other architecture's baseline) CPU, so a fit gives the same topics on every
machine (models/README.md). Set before anything imports numba.
"""

import os

os.environ.setdefault("NUMBA_CPU_NAME", "generic")
