"""Chapter 9: a DCGAN for 80x80 color faces (CelebA), and preparing the faces from a folder of photos.

Models and training (Listings 9.15-9.25), on ``tinygan.keras``:

* :func:`define_discriminator` (1,651,841 params), :func:`define_generator` (1,381,891), :func:`define_gan`;
* :func:`load_real_samples`: the prepared ``img_align_celeba.npz`` (key ``arr_0``) scaled to [-1,1];
* :func:`train`: the chapter 8 loop (separate real and fake discriminator batches,
  ``>%d, %d/%d, d1=%.3f, d2=%.3f g=%.3f``), 100 epochs of batch 128, :func:`summarize_performance` every 10
  epochs (``>Accuracy real: ...``, a 10x10 ``generated_plot_e%03d.png``, ``generator_model_%03d.h5``).

Face preparation (Listings 9.1-9.12): :func:`load_image`, :func:`load_faces`, :func:`extract_face`,
:func:`plot_faces`, :func:`prepare_faces` (writes the npz). The book finds each face with the MTCNN detector
(``pip install mtcnn``), which needs TensorFlow; here the detector is anything with ``detect_faces(pixels)``
returning MTCNN-style ``[{'box': [x, y, width, height]}, ...]``:

* :class:`BoxFileDetector`: boxes read from a file, one per photo: CelebA's ``list_bbox_celeba.txt`` layout
  (``image_id x_1 y_1 width height``, whitespace separated, with or without the count/header lines), a CSV
  ``filename,x,y,width,height``, or a JSON ``{filename: [x, y, w, h]}`` (or MTCNN's output lists);
* :class:`CentreCropDetector` (the fallback): a fixed square box. For CelebA's aligned 178x218 photos (eyes at
  y~111, mouth at y~153) the default is a 108x108 square centred at (89, 121), i.e. side = 0.607 x width,
  centre x = width / 2, centre y = 0.555 x height, which holds the face from brow to chin much as MTCNN's box does;
* ``MTCNN()`` itself, when the ``mtcnn`` package is installed (``detector='mtcnn'``).
"""
import csv
import json
import os

import numpy as np
from numpy import asarray, savez_compressed

from tinygan.keras.layers import Conv2D, Conv2DTranspose, Dense, Dropout, Flatten, LeakyReLU, Reshape
from tinygan.keras.models import Sequential
from tinygan.keras.optimizers import Adam

from ..errors import UserInputError

from .dcgan_mnist import define_gan  # noqa: F401 - the book repeats Listing 7.27 unchanged in this chapter
from .dcgan_mnist import summarize_performance_with

from .dcgan_cifar10 import (generate_fake_samples, generate_latent_points,  # noqa: F401 - the book's helpers
                            generate_real_samples, train_separate_batches)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


# ------------------------------------------------------------------------------------------------- models
# define the standalone discriminator model
def define_discriminator(in_shape=(80, 80, 3)):
    model = Sequential()
    # normal
    model.add(Conv2D(128, (5, 5), padding='same', input_shape=in_shape))
    model.add(LeakyReLU(alpha=0.2))
    # downsample to 40x40
    model.add(Conv2D(128, (5, 5), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    # downsample to 20x20
    model.add(Conv2D(128, (5, 5), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    # downsample to 10x10
    model.add(Conv2D(128, (5, 5), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    # downsample to 5x5
    model.add(Conv2D(128, (5, 5), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    # classifier
    model.add(Flatten())
    model.add(Dropout(0.4))
    model.add(Dense(1, activation='sigmoid'))
    # compile model
    opt = Adam(lr=0.0002, beta_1=0.5)
    model.compile(loss='binary_crossentropy', optimizer=opt, metrics=['accuracy'])
    return model


# define the standalone generator model
def define_generator(latent_dim):
    model = Sequential()
    # foundation for 5x5 feature maps
    n_nodes = 128 * 5 * 5
    model.add(Dense(n_nodes, input_dim=latent_dim))
    model.add(LeakyReLU(alpha=0.2))
    model.add(Reshape((5, 5, 128)))
    # upsample to 10x10
    model.add(Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    # upsample to 20x20
    model.add(Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    # upsample to 40x40
    model.add(Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    # upsample to 80x80
    model.add(Conv2DTranspose(128, (4, 4), strides=(2, 2), padding='same'))
    model.add(LeakyReLU(alpha=0.2))
    # output layer 80x80x3
    model.add(Conv2D(3, (5, 5), activation='tanh', padding='same'))
    return model




# load and prepare training images
def load_real_samples(filename='img_align_celeba.npz'):
    """Listing 9.18: the prepared faces (``arr_0``) as float32 in [-1,1]."""
    # load the face dataset
    with np.load(filename, allow_pickle=False) as data:
        X = data['arr_0']
    # convert from unsigned ints to floats
    X = X.astype('float32')
    # scale from [0,255] to [-1,1]
    X = (X - 127.5) / 127.5
    return X


# create and save a plot of generated images
def save_plot(examples, epoch, n=10, out_dir=".", filename=None):
    from matplotlib import pyplot
    # scale from [-1,1] to [0,1]
    examples = (examples + 1) / 2.0
    fig = pyplot.figure()
    # plot images
    for i in range(min(n * n, len(examples))):
        # define subplot
        pyplot.subplot(n, n, 1 + i)
        # turn off axis
        pyplot.axis('off')
        # plot raw pixel data
        pyplot.imshow(np.clip(examples[i], 0, 1))
    # save plot to file
    filename = filename or os.path.join(out_dir, 'generated_plot_e%03d.png' % (epoch + 1))
    pyplot.savefig(filename)
    pyplot.close(fig)
    return filename


# evaluate the discriminator, plot generated images, save generator model
def summarize_performance(epoch, g_model, d_model, dataset, latent_dim, n_samples=100, out_dir=".", log=print,
                          run=None):
    plot_n = min(10, int(np.sqrt(n_samples)))
    return summarize_performance_with(generate_real_samples, lambda x: save_plot(x, epoch, n=plot_n, out_dir=out_dir),
                                      epoch, g_model, d_model, dataset, latent_dim, n_samples, out_dir, log, run)


# train the generator and discriminator
def train(g_model, d_model, gan_model, dataset, latent_dim, n_epochs=100, n_batch=128, eval_samples=100, **kwargs):
    """Listing 9.22/9.25. Keyword extras as in :func:`tinygan.gans.dcgan_mnist.train`."""
    out_dir = kwargs.get("out_dir", ".")

    def summarize(epoch, run):
        summarize_performance(epoch, g_model, d_model, dataset, latent_dim, n_samples=eval_samples, out_dir=out_dir,
                              log=run.write, run=run)

    return train_separate_batches(g_model, d_model, gan_model, dataset, latent_dim, n_epochs, n_batch, summarize,
                                  desc="dcgan-faces", chapter=9, **kwargs)


def main(latent_dim=100, filename='img_align_celeba.npz', **train_kwargs):
    """The complete example (Listing 9.25)."""
    # create the discriminator
    d_model = define_discriminator()
    # create the generator
    g_model = define_generator(latent_dim)
    # create the gan
    gan_model = define_gan(g_model, d_model)
    # load image data
    dataset = load_real_samples(filename)
    # train model
    result = train(g_model, d_model, gan_model, dataset, latent_dim, **train_kwargs)
    return g_model, d_model, gan_model, result


# ----------------------------------------------------------------------------------------- face preparation
# load an image as an rgb numpy array
def load_image(filename):
    from PIL import Image
    # load image from file
    image = Image.open(filename)
    # convert to RGB, if needed
    image = image.convert('RGB')
    # convert to array
    pixels = asarray(image)
    return pixels


def list_images(directory):
    """Image files of ``directory`` in sorted order (the book uses ``listdir`` order, which is arbitrary)."""
    return [f for f in sorted(os.listdir(directory)) if f.lower().endswith(IMAGE_EXTENSIONS)]


class CentreCropDetector:
    """The fallback "detector": one fixed square box per photo (see the module docstring).

    ``side`` (fraction of the width), ``cx``/``cy`` (centre as fractions of width/height) default to a crop that
    frames the face in CelebA's aligned 178x218 photos.
    """

    def __init__(self, side=0.607, cx=0.5, cy=0.555):
        self.side, self.cx, self.cy = side, cx, cy

    def box(self, shape):
        h, w = shape[:2]
        s = int(round(min(self.side * w, w, h)))
        x1 = int(round(self.cx * w - s / 2))
        y1 = int(round(self.cy * h - s / 2))
        x1 = min(max(x1, 0), w - s)
        y1 = min(max(y1, 0), h - s)
        return [x1, y1, s, s]

    def detect_faces(self, pixels, filename=None):
        return [{"box": self.box(np.shape(pixels)), "confidence": None}]


class BoxFileDetector:
    """Face boxes read from a file, looked up by the photo's file name (see the module docstring).

    Photos without a box get none (``detect_faces`` returns ``[]``, so :func:`load_faces` skips them, as it skips
    photos where MTCNN finds no face), unless ``fallback`` (e.g. a :class:`CentreCropDetector`) is given.
    """

    def __init__(self, path, fallback=None):
        self.path, self.fallback = path, fallback
        self.boxes = read_boxes(path)

    def detect_faces(self, pixels, filename=None):
        box = self.boxes.get(os.path.basename(filename)) if filename else None
        if box is None:
            return self.fallback.detect_faces(pixels, filename) if self.fallback else []
        return [{"box": list(box), "confidence": None}]


def read_boxes(path):
    """``{file name: [x, y, width, height]}`` from a JSON, CSV or CelebA ``list_bbox_celeba.txt`` file."""
    with open(path) as f:
        text = f.read()
    boxes = {}
    if path.lower().endswith(".json") or text.lstrip().startswith("{"):
        for name, v in json.loads(text).items():
            if isinstance(v, list) and v and isinstance(v[0], dict):
                v = v[0]["box"]
            elif isinstance(v, dict):
                v = v["box"]
            boxes[os.path.basename(name)] = [int(round(float(t))) for t in v[:4]]
        return boxes
    dialect = "," if "," in text.splitlines()[0] or (len(text.splitlines()) > 1 and "," in text.splitlines()[1]) \
        else None
    rows = csv.reader(text.splitlines()) if dialect else (line.split() for line in text.splitlines())
    for row in rows:
        row = [t.strip() for t in row if t.strip()]
        if len(row) < 5:
            continue                               # CelebA's count line, blank lines
        try:
            box = [int(round(float(t))) for t in row[1:5]]
        except ValueError:
            continue                               # a header line
        boxes[os.path.basename(row[0])] = box
    return boxes


def make_detector(kind="centre", boxes=None):
    """``'centre'`` (:class:`CentreCropDetector`), ``'boxes'`` (:class:`BoxFileDetector` on ``boxes``, falling back
    to the centre crop for photos the file lacks) or ``'mtcnn'`` (needs the ``mtcnn`` package and TensorFlow)."""
    if boxes or kind == "boxes":
        if not boxes:
            raise UserInputError("detector 'boxes' needs a boxes file")
        return BoxFileDetector(boxes, fallback=CentreCropDetector())
    if kind == "mtcnn":
        try:
            from mtcnn.mtcnn import MTCNN
        except ImportError as exc:
            raise UserInputError("detector 'mtcnn' needs `pip install mtcnn` (which needs TensorFlow); use a boxes "
                               "file (--boxes) or the centre crop instead") from exc
        return MTCNN()
    if kind in ("centre", "center"):
        return CentreCropDetector()
    raise UserInputError(f"unknown detector {kind!r}: use 'centre', 'boxes' or 'mtcnn'")


def _detect(model, pixels, filename):
    if isinstance(model, (CentreCropDetector, BoxFileDetector)):
        return model.detect_faces(pixels, filename=filename)
    return model.detect_faces(pixels)


# extract the face from a loaded image and resize
def extract_face(model, pixels, required_size=(80, 80), filename=None):
    """Listing 9.10: the first detected face, cropped (negative corners made positive, the book's "bug fix") and
    resized to ``required_size``; ``None`` when no face is found (or the box is empty)."""
    from PIL import Image
    # detect face in the image
    faces = _detect(model, pixels, filename)
    # skip cases where we could not detect a face
    if len(faces) == 0:
        return None
    # extract details of the face
    x1, y1, width, height = faces[0]['box']
    # force detected pixel values to be positive (bug fix)
    x1, y1 = abs(x1), abs(y1)
    # convert into coordinates
    x2, y2 = x1 + width, y1 + height
    # retrieve face pixels
    face_pixels = pixels[y1:y2, x1:x2]
    if face_pixels.size == 0:
        return None
    # resize pixels to the model size
    image = Image.fromarray(face_pixels)
    image = image.resize(required_size)
    face_array = asarray(image)
    return face_array


# load images and extract faces for all images in a directory
def load_faces(directory, n_faces, model=None, required_size=(80, 80), log=print, log_every=1):
    """Listing 9.11: up to ``n_faces`` faces from the photos in ``directory``. ``model=None`` loads the photos
    whole (Listing 9.2); otherwise each is passed through :func:`extract_face` with that detector."""
    faces = list()
    # enumerate files
    for filename in list_images(directory):
        # load the image
        pixels = load_image(os.path.join(directory, filename))
        if model is None:
            face = pixels
        else:
            # get face
            face = extract_face(model, pixels, required_size, filename=filename)
            if face is None:
                continue
        # store
        faces.append(face)
        if log and log_every and len(faces) % log_every == 0:
            log('%d %s' % (len(faces), face.shape))
        # stop once we have enough
        if len(faces) >= n_faces:
            break
    return asarray(faces)


# plot a list of loaded faces
def plot_faces(faces, n, filename=None):
    from .latent import plot_grid
    return plot_grid(faces, n, n, filename=filename)


def prepare_faces(directory, out='img_align_celeba.npz', n_faces=50000, detector="centre", boxes=None,
                  required_size=(80, 80), log=print, log_every=1000):
    """Listing 9.12: extract up to ``n_faces`` faces from ``directory`` and ``savez_compressed`` them to ``out``
    (uint8 ``(n, 80, 80, 3)`` under ``arr_0``). Returns the array."""
    model = make_detector(detector, boxes) if isinstance(detector, str) else detector
    all_faces = load_faces(directory, n_faces, model, required_size=required_size, log=log, log_every=log_every)
    if len(all_faces) == 0:
        raise UserInputError(f"no faces were extracted from {directory}")
    if log:
        log('Loaded: %s' % (all_faces.shape,))
    # save in compressed format
    savez_compressed(out, all_faces)
    return all_faces
