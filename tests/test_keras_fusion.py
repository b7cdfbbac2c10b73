"""A network runs Conv2D/Conv2DTranspose/BatchNormalization/InstanceNormalization -> LeakyReLU pairs as one op
(``leaky_alpha`` of the conv and norm ops): only where the first layer's output goes nowhere else, and with the
same numbers (outputs, updates, moving statistics) as running the two layers one after the other."""
import numpy as np

from tinygan.keras.layers import (BatchNormalization, Conv2D, Conv2DTranspose, Input, InstanceNormalization,
                                  LeakyReLU)
from tinygan.keras.models import Model
from tinygan.keras.optimizers import SGD

rng = np.random.default_rng(0)


def _model():
    inp = Input((6, 6, 2))
    a = LeakyReLU(0.2, name="fused_a")(Conv2D(4, 3, strides=2, padding="same", name="conv_a")(inp))
    b_pre = Conv2D(4, 3, padding="same", name="conv_b")(a)             # also a model output: not fused
    b = LeakyReLU(0.2)(b_pre)
    c_pre = Conv2DTranspose(3, 4, strides=2, padding="same", name="convt_c")(b)   # two consumers: not fused
    c = LeakyReLU(0.1)(c_pre)
    c2 = LeakyReLU(0.3)(c_pre)
    d = LeakyReLU(-0.5)(Conv2D(2, 1, name="conv_d")(c))                # negative slope: not fusable
    e = LeakyReLU(0.2)(Conv2D(2, 3, padding="same", activation="tanh", name="conv_e")(c2))  # own activation
    f = LeakyReLU(0.2, name="fused_f")(Conv2DTranspose(2, 4, strides=2, padding="same", name="convt_f")(a))
    g = LeakyReLU(0.2)(BatchNormalization(name="bn_g")(Conv2D(3, 3, padding="same", name="conv_g")(f)))
    h = LeakyReLU(0.2)(InstanceNormalization(axis=-1, name="in_h")(Conv2D(3, 3, padding="same", name="conv_h")(f)))
    return Model(inp, [b_pre, d, e, f, g, h])


def _pair():
    fused, plain = _model(), _model()
    plain.set_weights(fused.get_weights())
    plain._fusions = {}
    for m in (fused, plain):
        m.compile(loss="mse", optimizer=SGD(0.1))
    return fused, plain


def test_only_the_pairs_that_may_fuse_are_fused():
    fused, _ = _pair()
    names = {fused._steps[conv][0].outbound_layer.name for conv in fused._fusions}
    assert names == {"conv_a", "convt_f", "conv_e", "bn_g", "in_h"}   # conv_e refuses at run time (tanh)


def test_fused_network_gives_the_same_outputs_and_updates():
    fused, plain = _pair()
    x = rng.standard_normal((3, 6, 6, 2)).astype(np.float32)
    ys = [rng.standard_normal(o.shape).astype(np.float32) for o in plain.predict(x)]
    for a, b in zip(fused.predict(x), plain.predict(x)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(fused.train_on_batch(x, ys), plain.train_on_batch(x, ys), rtol=1e-6)
    for a, b in zip(fused.get_weights(), plain.get_weights()):       # moving mean/variance included
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for a, b in zip(fused.predict(x), plain.predict(x)):                # inference: the moving statistics
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
