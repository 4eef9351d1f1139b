import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))  # `from helpers import ...` in every test module
torch.set_num_threads(1)  # NumPy and PyTorch BLAS threads must not fight over 2 cores
