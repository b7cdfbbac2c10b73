"""Dataset loaders end to end on tiny files in the official formats, served from a loopback HTTP server:
download, parse, cache, checksum mismatch, and the offline error (then a manually placed file works).
No test touches the internet."""
import functools
import gzip
import hashlib
import http.server
import io
import os
import pickle
import socket
import struct
import tarfile
import threading

import numpy as np
import pytest

from tinygan.keras.datasets import _download, cifar10, fashion_mnist, mnist


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests = []

    def do_GET(self):
        _Handler.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """Loopback requests must not go through a proxy configured in the environment."""
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A loopback server over an empty folder; the cache is a fresh temp dir. Yields the served folder."""
    served = tmp_path / "served"
    served.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv("TINYGAN_DATASETS_URL", f"http://127.0.0.1:{httpd.server_address[1]}/")
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "cache"))
    _Handler.requests = []
    yield served
    httpd.shutdown()
    httpd.server_close()


def _publish(served, name, data, monkeypatch, algorithm="md5"):
    """Serve ``data`` as ``name`` and make its checksum the expected one."""
    (served / name).write_bytes(data)
    monkeypatch.setitem(_download.CHECKSUMS, name, hashlib.new(algorithm, data).hexdigest())


def _mnist_npz():
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), "y_train": np.array([5, 0, 4], np.uint8),
              "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8), "y_test": np.array([7, 2], np.uint8)}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue(), arrays


def test_mnist_downloads_parses_and_caches(server, monkeypatch, tmp_path):
    data, arrays = _mnist_npz()
    _publish(server, "mnist.npz", data, monkeypatch, "sha256")
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (3, 28, 28) and x_train.dtype == np.uint8 and y_train.shape == (3,)
    np.testing.assert_array_equal(x_test, arrays["x_test"])
    np.testing.assert_array_equal(y_test, [7, 2])
    assert (tmp_path / "cache" / "mnist.npz").read_bytes() == data
    mnist.load_data()
    assert _Handler.requests == ["/mnist.npz"]  # the second load read the cache


def _idx(array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_reads_idx_files(server, monkeypatch, tmp_path):
    rng = np.random.default_rng(1)
    x_train, x_test = rng.integers(0, 256, (4, 28, 28)), rng.integers(0, 256, (2, 28, 28))
    y_train, y_test = np.array([9, 0, 0, 3]), np.array([1, 2])
    for name, arr in zip(fashion_mnist.FILES, (y_train, x_train, y_test, x_test)):
        _publish(server, name, _idx(arr), monkeypatch)
    (xa, ya), (xb, yb) = fashion_mnist.load_data()
    assert xa.shape == (4, 28, 28) and xa.dtype == np.uint8 and ya.dtype == np.uint8
    np.testing.assert_array_equal(xa, x_train)
    np.testing.assert_array_equal(ya, y_train)
    np.testing.assert_array_equal(xb, x_test)
    np.testing.assert_array_equal(yb, y_test)
    assert sorted(os.listdir(tmp_path / "cache" / "fashion-mnist")) == sorted(fashion_mnist.FILES)


def _cifar_archive():
    """A cifar-10-python.tar.gz with 2 images per batch: rows of 3072 bytes in CHW order, as the official pickles."""
    rng = np.random.default_rng(2)
    batches = {name: (rng.integers(0, 256, (2, 3072), dtype=np.uint8), [int(i) for i in rng.integers(0, 10, 2)])
               for name in cifar10.TRAIN_BATCHES + ["test_batch"]}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, (data, labels) in batches.items():
            raw = pickle.dumps({b"batch_label": name.encode(), b"labels": labels, b"data": data})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return buf.getvalue(), batches


def test_cifar10_reads_pickles_in_the_archive_as_nhwc(server, monkeypatch):
    archive, batches = _cifar_archive()
    _publish(server, "cifar-10-python.tar.gz", archive, monkeypatch)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (10, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (10, 1) and y_train.dtype == np.uint8 and x_test.shape == (2, 32, 32, 3)
    data, labels = batches["data_batch_2"]
    # Image 1 of batch 2 is row 3; pixel (h=5, w=7) of channel c sits at c*1024 + 5*32 + 7 of its CHW row.
    np.testing.assert_array_equal(x_train[3, 5, 7], [data[1, c * 1024 + 5 * 32 + 7] for c in range(3)])
    np.testing.assert_array_equal(y_train[2:4, 0], labels)
    np.testing.assert_array_equal(y_test[:, 0], batches["test_batch"][1])


def test_checksum_mismatch_saves_nothing(server, monkeypatch, tmp_path):
    data, _ = _mnist_npz()
    (server / "mnist.npz").write_bytes(data)
    monkeypatch.setitem(_download.CHECKSUMS, "mnist.npz", "0" * 64)
    with pytest.raises(_download.ChecksumError, match="checksum"):
        mnist.load_data()
    assert os.listdir(tmp_path / "cache") == []


def test_corrupt_cached_file_is_downloaded_again(server, monkeypatch, tmp_path):
    data, arrays = _mnist_npz()
    _publish(server, "mnist.npz", data, monkeypatch, "sha256")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "mnist.npz").write_bytes(b"truncated")
    np.testing.assert_array_equal(mnist.load_data()[0][1], arrays["y_train"])
    assert _Handler.requests == ["/mnist.npz"]


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_error_names_files_and_directory_then_manual_placement_works(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("TINYGAN_DATA", str(cache))
    monkeypatch.setenv("TINYGAN_DATASETS_URL", f"http://127.0.0.1:{_closed_port()}/")
    with pytest.raises(_download.DatasetUnavailableError) as err:
        fashion_mnist.load_data()
    message = str(err.value)
    assert str(cache / "fashion-mnist") in message
    assert all(name in message and _download.CHECKSUMS[name] in message for name in fashion_mnist.FILES)

    archive, batches = _cifar_archive()
    monkeypatch.setitem(_download.CHECKSUMS, "cifar-10-python.tar.gz", hashlib.md5(archive).hexdigest())
    cache.mkdir(exist_ok=True)
    (cache / "cifar-10-python.tar.gz").write_bytes(archive)  # placed by hand, still verified
    (x_train, _), _ = cifar10.load_data()
    assert x_train.shape == (10, 32, 32, 3)


def test_cache_dir_follows_keras_home(monkeypatch, tmp_path):
    monkeypatch.delenv("TINYGAN_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert _download.cache_dir() == os.path.join(str(tmp_path), "datasets")
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "elsewhere"))
    assert _download.cache_dir() == str(tmp_path / "elsewhere")
