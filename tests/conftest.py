"""Shared test set-up.

The tests use tiny models, for which one thread is fastest; more threads than free cores
make torch's OpenMP kernels spin against each other (tens of times slower when anything
else runs on the machine). Subprocesses get OMP_NUM_THREADS=1 for the same reason.
"""

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))  # tiny_data and friends
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)
