"""Pix2Pix paired data: prepare a maps-layout folder (with broken files), load it, the embedded demo dataset."""
import os

import numpy as np
import pytest
from PIL import Image

from tinygan.gans.pix2pix_data import (default_dataset_path, load_image, load_real_samples, prepare_paired_folder,
                                       scale_images, to_uint8, unscale_images)


def make_maps_folder(folder, n=4):
    """Maps-layout JPEGs (1200x600: 'satellite' left, 'map' right) plus the files a real folder may hold."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        left = np.zeros((600, 600, 3), np.uint8)
        left[..., 1] = 40 + 30 * i  # greenish satellite, brightness by index
        left += rng.integers(0, 20, left.shape, dtype=np.uint8)
        right = np.full((600, 600, 3), 230, np.uint8)  # light map with a road
        right[290:310] = (250, 200, 60)
        Image.fromarray(np.concatenate([left, right], axis=1)).save(folder / f"{i + 1}.jpg", quality=90)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    full = folder / "1.jpg"
    (folder / "truncated.jpg").write_bytes(full.read_bytes()[:2000])
    Image.fromarray(np.zeros((600, 600, 3), np.uint8)).save(folder / "square.jpg")
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.jpg").write_bytes(b"")
    return folder


def test_prepare_reports_and_skips_bad_files(tmp_path, capsys):
    folder = make_maps_folder(tmp_path / "train")
    out = tmp_path / "maps_64.npz"
    report = prepare_paired_folder(str(folder), str(out), size=64)
    printed = capsys.readouterr().out
    assert report.loaded == ["1.jpg", "2.jpg", "3.jpg", "4.jpg"]
    skipped = dict(report.skipped)
    assert set(skipped) == {"broken.jpg", "truncated.jpg", "square.jpg", "notes.txt"}
    assert "not a side-by-side pair" in skipped["square.jpg"] and "600x600" in skipped["square.jpg"]
    assert "corrupt" in skipped["broken.jpg"] and "corrupt" in skipped["truncated.jpg"]
    for name in skipped:
        assert f"Skipped {name}" in printed
    assert "Loaded: (4, 64, 64, 3) (4, 64, 64, 3)" in printed and "Saved dataset:" in printed

    with np.load(out) as data:
        assert sorted(data.files) == ["arr_0", "arr_1"]
        src, tar = data["arr_0"], data["arr_1"]
    assert src.dtype == np.uint8 and src.shape == tar.shape == (4, 64, 64, 3)
    # satellite (green, darker) is the source, the light map the target; the image order follows the names
    assert src[..., 1].mean() < 200 < tar.mean()
    assert src[0, ..., 1].mean() < src[3, ..., 1].mean()

    X1, X2 = load_real_samples(str(out))
    assert X1.dtype == np.float32 and X1.min() >= -1 and X2.max() <= 1
    np.testing.assert_allclose(X1, (src - 127.5) / 127.5, atol=1e-6)
    B1, B2 = load_real_samples(str(out), direction="BtoA")
    np.testing.assert_array_equal(B1, X2)
    np.testing.assert_array_equal(B2, X1)


def test_prepare_direction_expect_size_and_limit(tmp_path):
    folder = make_maps_folder(tmp_path / "train")
    out = tmp_path / "rev.npz"
    report = prepare_paired_folder(str(folder), str(out), size=32, direction="BtoA", expect=(1200, 600), limit=2,
                                   log=None)
    assert report.loaded == ["1.jpg", "2.jpg"]
    with np.load(out) as data:
        assert data["arr_0"].mean() > 200  # the map half is now the source
    with pytest.raises(ValueError, match="no usable"):  # every image is 1200x600, none 1000x500
        prepare_paired_folder(str(folder), str(tmp_path / "none.npz"), size=32, expect=(1000, 500), log=None)


def test_prepare_with_no_usable_file_raises(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"junk")
    with pytest.raises(ValueError, match="no usable side-by-side image"):
        prepare_paired_folder(str(folder), str(tmp_path / "x.npz"), size=32, log=None)
    assert not (tmp_path / "x.npz").exists()
    with pytest.raises(FileNotFoundError):
        prepare_paired_folder(str(tmp_path / "nope"), str(tmp_path / "x.npz"), log=None)


def test_cli_prepare(tmp_path, capsys):
    from tinygan.cli import main
    (tmp_path / "maps").mkdir()
    folder = make_maps_folder(tmp_path / "maps" / "train")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(["pix2pix", "prepare", str(folder), "--size", "32", "--plot", "check.png"]) == 0
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert (tmp_path / "maps_32.npz").exists() and (tmp_path / "check.png").exists()
    assert "Skipped 4 file(s): broken.jpg, notes.txt, square.jpg, truncated.jpg" in out


def test_scaling_round_trip_and_load_image(tmp_path):
    pixels = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    x = scale_images(pixels)
    assert x.min() == -1 and x.max() == 1
    np.testing.assert_array_equal(to_uint8(x), pixels)
    assert unscale_images(np.array([-2.0, 0.0, 2.0])).tolist() == [0.0, 0.5, 1.0]
    Image.fromarray(pixels).save(tmp_path / "p.png")
    img = load_image(str(tmp_path / "p.png"), size=8)
    assert img.shape == (1, 8, 8, 3) and img.dtype == np.float32


def test_embedded_demo_dataset_is_shipped_and_small():
    train, val = default_dataset_path("train"), default_dataset_path("val")
    assert os.path.getsize(train) + os.path.getsize(val) < 5_000_000
    X1, X2 = load_real_samples(train)
    V1, V2 = load_real_samples(val)
    assert X1.shape == X2.shape and X1.shape[1:] == (64, 64, 3) and len(X1) >= 200
    assert V1.shape[1:] == (64, 64, 3) and len(V1) >= 32
    # photo -> line drawing: the target's three channels are equal and mostly white, the source is in colour
    assert np.all(X2[..., 0] == X2[..., 1]) and np.all(X2[..., 1] == X2[..., 2])
    assert np.median(X2) == 1.0 and np.abs(X1[..., 0] - X1[..., 2]).mean() > 0.05
    readme = os.path.join(os.path.dirname(train), "README.md")
    text = open(readme).read()
    assert "pix2pix_photo2edges_64.npz" in text and "build_pix2pix_demo_data.py" in text
