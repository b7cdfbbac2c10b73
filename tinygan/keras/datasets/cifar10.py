"""CIFAR-10: ``load_data()`` -> ((x_train, y_train), (x_test, y_test)), x uint8 (n, 32, 32, 3) channels-last,
y uint8 (n, 1), read from the python pickles inside the official ``cifar-10-python.tar.gz``."""
import io
import os
import pickle
import tarfile

import numpy

from ._download import fetch

ORIGIN = "https://www.cs.toronto.edu/~kriz/"
ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]


class _ArraysOnly(pickle.Unpickler):
    """The official batches are pickles of dicts, lists, bytes and NumPy arrays: only what builds those may be
    named by the file (a replaced archive cannot make the unpickler call anything else)."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}  # bytes, in Python 3 protocol 2

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"a CIFAR-10 batch may only hold arrays and plain values, but this one names "
                                     f"{module}.{name}; the archive is not the official one")


def _batch(raw):
    """(images NHWC, labels) from one pickled batch: a dict with 'data' (n, 3072) rows in CHW order and 'labels'."""
    batch = _ArraysOnly(io.BytesIO(raw), encoding="bytes").load()
    d = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    x = numpy.asarray(d["data"], dtype=numpy.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x, numpy.asarray(d["labels"], dtype=numpy.uint8).reshape(-1, 1)


def load_data():
    """The 50,000 training and 10,000 test images (the archive is read in place, not extracted)."""
    (path,) = fetch([ARCHIVE], ORIGIN)
    batches = {}
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            name = os.path.basename(member.name)
            if member.isfile() and name in TRAIN_BATCHES + ["test_batch"]:
                batches[name] = _batch(tar.extractfile(member).read())
    missing = sorted(set(TRAIN_BATCHES + ["test_batch"]) - set(batches))
    if missing:
        raise ValueError(f"{path} lacks the CIFAR-10 batches {missing}")
    x_train = numpy.ascontiguousarray(numpy.concatenate([batches[b][0] for b in TRAIN_BATCHES]))
    y_train = numpy.concatenate([batches[b][1] for b in TRAIN_BATCHES])
    x_test, y_test = batches["test_batch"]
    return (x_train, y_train), (numpy.ascontiguousarray(x_test), y_test)
