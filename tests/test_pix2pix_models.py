"""Pix2Pix models (chapter 22): the book's parameter counts at 256 px, the U-Net at other sizes, inference mode."""
import re

import numpy as np
import pytest

from tinygan import random as tg_random
from tinygan.gans.pix2pix import (define_discriminator, define_gan, define_generator, patchgan_receptive_fields,
                                  unet_depth)


def _counts(model):
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return model.count_params(), trainable, non_trainable


def _layer_params(model):
    return [layer.count_params() for layer in model.layers if layer.count_params()]


def test_receptive_field_printout():
    assert patchgan_receptive_fields() == [4, 7, 16, 34, 70]


@pytest.fixture(scope="module")
def book_models():
    tg_random.seed(0)
    image_shape = (256, 256, 3)
    d_model = define_discriminator(image_shape)
    d_counts = _counts(d_model)  # before define_gan freezes it
    g_model = define_generator(image_shape)
    gan_model = define_gan(g_model, d_model, image_shape)
    return d_model, g_model, gan_model, d_counts


def test_book_discriminator_256(book_models):
    d_model = book_models[0]
    assert book_models[3] == (6_968_257, 6_965_441, 2_816)
    assert d_model.output_shape == (None, 16, 16, 1)
    assert _layer_params(d_model) == [6208, 131200, 512, 524544, 1024, 2097664, 2048, 4194816, 2048, 8193]


def test_book_generator_256(book_models):
    g_model = book_models[1]
    assert _counts(g_model) == (54_429_315, 54_419_459, 9_856)
    assert g_model.output_shape == (None, 256, 256, 3)
    assert _layer_params(g_model) == [
        3136, 131200, 512, 524544, 1024, 2097664, 2048, 4194816, 2048, 4194816, 2048, 4194816, 2048,  # e1..e7
        4194816,  # bottleneck
        4194816, 2048, 8389120, 2048, 8389120, 2048, 8389120, 2048, 4194560, 1024, 1048704, 512, 262208, 256,
        6147]


def test_book_composite_256_and_printed_summary(book_models, capsys):
    d_model, g_model, gan_model, _ = book_models
    assert _counts(gan_model) == (61_397_572, 54_419_459, 6_978_113)
    gan_model.summary()
    out = capsys.readouterr().out
    assert re.search(r"Total params: 61,397,572", out)
    assert re.search(r"Trainable params: 54,419,459", out)
    assert re.search(r"Non-trainable params: 6,978,113", out)
    assert "54429315" in out.replace(",", "") and "6968257" in out.replace(",", "")


def test_bn_aware_freeze_counts():
    tg_random.seed(0)
    image_shape = (256, 256, 3)
    d_model = define_discriminator(image_shape)
    g_model = define_generator(image_shape)
    gan_model = define_gan(g_model, d_model, image_shape, freeze="layers_except_bn")
    assert _counts(gan_model) == (61_397_572, 54_422_275, 6_975_297)


@pytest.mark.parametrize("size,depth", [(32, 5), (64, 6), (128, 7)])
def test_unet_depth_follows_the_size(size, depth):
    assert unet_depth((size, size, 3)) == depth
    tg_random.seed(0)
    g = define_generator((size, size, 3), ngf=4)
    convs = [layer for layer in g.layers if type(layer).__name__ == "Conv2D"]
    deconvs = [layer for layer in g.layers if type(layer).__name__ == "Conv2DTranspose"]
    assert len(convs) == depth and len(deconvs) == depth
    assert g.output_shape == (None, size, size, 3)
    # encoder outputs halve down to a 1x1 bottleneck
    assert [layer.output_shape[1] for layer in convs] == [size >> (i + 1) for i in range(depth)]
    dropouts = [layer for layer in g.layers if type(layer).__name__ == "Dropout"]
    assert len(dropouts) == 3
    x = np.random.default_rng(0).uniform(-1, 1, (2, size, size, 3)).astype(np.float32)
    y = g.predict(x)
    assert y.shape == (2, size, size, 3) and np.all(np.abs(y) <= 1)


def test_discriminator_patch_halves_with_the_image():
    tg_random.seed(0)
    assert define_discriminator((128, 128, 3), ndf=4).output_shape == (None, 8, 8, 1)
    assert define_discriminator((64, 64, 3), ndf=4).output_shape == (None, 4, 4, 1)


def test_bad_sizes_are_explained():
    for shape in [(48, 48, 3), (64, 32, 3), (4, 4, 3)]:
        with pytest.raises(ValueError, match="power of two"):
            define_generator(shape, ngf=4)
    with pytest.raises(ValueError, match="freeze"):
        tg_random.seed(0)
        define_gan(define_generator((32, 32, 3), ngf=4), define_discriminator((32, 32, 3), ndf=4), (32, 32, 3),
                   freeze="nope")


def test_generator_is_stochastic_at_inference_and_uses_batch_statistics():
    tg_random.seed(0)
    g = define_generator((32, 32, 3), ngf=4)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)
    a, b = g.predict(x), g.predict(x)
    assert not np.allclose(a, b)  # dropout stays on (training=True), as in the book
    tg_random.seed(5)
    a = g.predict(x)
    tg_random.seed(5)
    b = g.predict(x)
    np.testing.assert_array_equal(a, b)  # the same noise gives the same translation
    # BatchNorm normalises with the batch's statistics (training=True): the moving averages are not used
    bns = [layer for layer in g.layers if type(layer).__name__ == "BatchNormalization"]
    for layer in bns:
        layer.set_weights([w if i < 2 else w + 50.0 for i, w in enumerate(layer.get_weights())])
    tg_random.seed(5)
    c = g.predict(x)
    np.testing.assert_allclose(a, c, atol=1e-6)
