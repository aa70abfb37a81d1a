"""Fashion-MNIST IDX reading shared by the benchmark and reference scripts (numpy only).

    from fmnist import load_split
    x, y = load_split(DIR, "train")   # x float32 [N, 1, 28, 28] = pixel/255, y int64 [N]
"""
import gzip
import os
import struct

import numpy as np

# The full 60,000 training images (the repository's testdata holds the first 2,000).
DEFAULT_DIR = os.environ.get(
    "FMNIST_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "fashion-mnist"))


def read_idx(path):
    """One IDX file (gzip-compressed or plain) as a uint8 array of its declared shape."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(d, split):
    """Images scaled by 1/255 as [N, 1, 28, 28] float32 and labels as int64 numpy arrays."""
    x = read_idx(os.path.join(d, f"{split}-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    y = read_idx(os.path.join(d, f"{split}-labels-idx1-ubyte.gz")).astype(np.int64)
    return x[:, None, :, :].copy(), y.copy()
