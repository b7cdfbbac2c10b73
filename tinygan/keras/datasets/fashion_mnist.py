"""Fashion-MNIST: ``load_data()`` -> ((x_train, y_train), (x_test, y_test)), x uint8 (n, 28, 28), y uint8 (n,)."""
import gzip
import struct

import numpy

from ._download import fetch

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILES = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]
# IDX type codes (third byte of the magic number) and their big-endian dtypes.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """An array from a gzipped IDX file: magic (0, 0, type, ndim), ndim big-endian sizes, then the data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (magic bytes {raw[:4].hex()})")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = numpy.frombuffer(raw, dtype=_IDX_DTYPES[code], offset=4 + 4 * ndim)
    return data.astype(data.dtype.newbyteorder("=")).reshape(shape)


def load_data():
    """The 60,000 training and 10,000 test images of Zalando's Fashion-MNIST (IDX files)."""
    y_train, x_train, y_test, x_test = (read_idx(p) for p in fetch(FILES, ORIGIN, subdir="fashion-mnist"))
    return (x_train, y_train), (x_test, y_test)
