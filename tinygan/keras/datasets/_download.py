"""The one downloader every dataset uses: fetch official files once into a cache, verify their checksums,
write atomically, and when the network is unreachable say exactly which files to put where.

The cache is ``$TINYGAN_DATA`` if set, else ``$KERAS_HOME/datasets``, else ``~/.keras/datasets`` (so
files Keras already downloaded are reused). ``$TINYGAN_DATASETS_URL`` replaces every origin (a mirror,
or a loopback server in tests). ``CHECKSUMS`` maps each official file name to its md5 (32 hex digits)
or sha256 (64); tests swap in the checksums of tiny stand-in files.
"""
import hashlib
import os
import tempfile
import urllib.error
import urllib.request

CHECKSUMS = {
    "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    "cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a",
    # keras.applications weights (Keras's own md5s; cached in ~/.keras/models)
    "inception_v3_weights_tf_dim_ordering_tf_kernels.h5": "9a0d58056eeedaa3f26cb7ebd46da564",
    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5": "bcbd6486424b2319ff4ef7d526e38f63",
}

TIMEOUT_S = 60


class DatasetUnavailableError(OSError):
    """A dataset file is not in the cache and could not be downloaded."""


class ChecksumError(ValueError):
    """A downloaded file does not have the official checksum."""


def keras_home():
    home = os.path.expanduser(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))
    if os.path.isdir(home) and not os.access(home, os.W_OK):
        home = os.path.join(tempfile.gettempdir(), ".keras")  # Keras' fallback for a read-only home
    return home


def cache_dir():
    if os.environ.get("TINYGAN_DATA"):
        return os.path.expanduser(os.environ["TINYGAN_DATA"])
    return os.path.join(keras_home(), "datasets")


def _hasher(name):
    """A fresh digest of the kind the official checksum of ``name`` uses (64 hex digits: sha256, else md5)."""
    return hashlib.sha256() if len(CHECKSUMS[name]) == 64 else hashlib.md5()


def file_hash(path):
    digest = _hasher(os.path.basename(path))
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(names, origin, subdir="", directory=None):
    """Local paths of the official files ``names`` (downloaded from ``origin`` + name when missing) in
    ``directory`` (default: the dataset cache's ``subdir``)."""
    directory = directory or os.path.join(cache_dir(), subdir)
    base = os.environ.get("TINYGAN_DATASETS_URL") or origin
    base = base if base.endswith("/") else base + "/"
    paths = []
    for name in names:
        path = os.path.join(directory, name)
        if not _is_valid(path):
            try:
                _download(base + name, path)
            except (OSError, urllib.error.URLError) as exc:
                raise DatasetUnavailableError(_offline_message(names, base, directory, name, exc)) from exc
        paths.append(path)
    return paths


def _is_valid(path):
    if not os.path.exists(path):
        return False
    actual, expected = file_hash(path), CHECKSUMS[os.path.basename(path)]
    if actual != expected:
        print(f"{path} has checksum {actual}, expected {expected}: downloading it again")
    return actual == expected


def _download(url, path):
    """Stream ``url`` into a temporary file beside ``path``, hashing as it goes, then rename it into place."""
    name = os.path.basename(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    print(f"Downloading data from {url}")
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix="." + name, suffix=".part")
    try:
        digest = _hasher(name)
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != CHECKSUMS[name]:
            raise ChecksumError(f"{url} downloaded with checksum {digest.hexdigest()}, but the official file has "
                                f"{CHECKSUMS[name]}: the download is corrupt or the mirror serves another file. "
                                f"Nothing was saved; retry, or place the official file at {path}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _offline_message(names, base, directory, failed, exc):
    listing = "\n".join(f"  {name}  (checksum {CHECKSUMS[name]}, from {base}{name})" for name in names)
    return (f"could not download {base}{failed} ({exc}). To use this dataset offline, download these files "
            f"on a connected machine and place them in {directory}:\n{listing}\n"
            "(set TINYGAN_DATA to use another directory, or TINYGAN_DATASETS_URL for a mirror)")
