#!/usr/bin/env python3
"""Build the small *unpaired* dataset that ``tinygan cyclegan train`` uses when no data is given.

It is cut from the Pix2Pix demo pairs (``tinygan/data/pix2pix_photo2edges_64*.npz``: 64x64 crops of six
public-domain / CC0 photographs and soft line drawings of them, built by ``scripts/build_pix2pix_demo_data.py``;
provenance and licences in ``tinygan/data/README.md``). Domain A takes the *photographs* of the first half of the
crops, domain B the *line drawings* of the other half, so no photo is ever seen with its own drawing: the two
domains are unpaired, as horse2zebra's horses and zebras are. The same split of the validation pairs gives
held-out images of each domain (from regions of the photographs no training crop touches).

Saved as the book's compressed npz (``arr_0`` = domain A, ``arr_1`` = domain B, uint8):

* ``tinygan/data/cyclegan_photo2edges_64.npz``      120 photos, 120 line drawings
* ``tinygan/data/cyclegan_photo2edges_64_val.npz``  24 photos, 24 line drawings

Usage: ``python scripts/build_cyclegan_demo_data.py`` (deterministic: it only slices the shipped files).
"""
import os

import numpy as np

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tinygan", "data")


def split_unpaired(photos, drawings):
    """Photos of the first half of the pairs, drawings of the second half."""
    half = len(photos) // 2
    return photos[:half], drawings[half:]


def main():
    for suffix in ("", "_val"):
        with np.load(os.path.join(DATA, f"pix2pix_photo2edges_64{suffix}.npz")) as data:
            A, B = split_unpaired(data["arr_0"], data["arr_1"])
        path = os.path.join(DATA, f"cyclegan_photo2edges_64{suffix}.npz")
        np.savez_compressed(path, A, B)
        print(f"Saved {path}: A {A.shape}, B {B.shape}, {os.path.getsize(path) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
