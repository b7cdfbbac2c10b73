"""Write the real-Keras HDF5 fixtures of tests/fixtures/keras_h5/ (run once, by hand, with TensorFlow's Keras 2).

    TF_USE_LEGACY_KERAS=1 /work/tfvenv/bin/python scripts/make_keras_h5_fixtures.py

Needs tensorflow-cpu and tf-keras (Keras 2), which tinygan and its tests never do: the tests only read what this
script wrote. Each model is saved with ``model.save('<name>.h5')`` (Keras' legacy HDF5 layout), and
``expected.npz`` holds, per file, the inputs fed to it and what tf-keras's ``predict`` gave:

``dcgan_discriminator.h5``  the book's MNIST DCGAN discriminator (Listing 7.x ``define_discriminator``),
                            compiled with Adam(0.0002, 0.5) and saved after one ``train_on_batch``
``functional_bn_concat.h5`` a functional model with BatchNormalization (moving statistics trained away from 0/1),
                            Concatenate, Conv2DTranspose and two outputs
``instance_norm.h5``        chapter 26's custom InstanceNormalization (keras-contrib's layer, re-implemented here
                            with the same config and numerics) that needs ``custom_objects``
``sgan_lambda.h5``          chapter 20's ``Lambda(custom_activation)``: tf-keras stores it as Python bytecode
``functional_weights.h5``   ``save_weights`` of the functional model (the layout of Keras' applications weights)
``many_layers.h5``          three inputs (an Embedding for a class label, as chapter 17's cGAN), every merge layer,
                            UpSampling2D, MaxPooling2D, Conv2DTranspose without bias, RMSprop with its slots, metrics
                            of two outputs
``sequential_sgd.h5``       a Sequential compiled with SGD(momentum=0.9) after one step
"""
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np
import tensorflow as tf
import tf_keras as keras
from tf_keras import backend as K
from tf_keras import layers as L
from tf_keras.layers import (BatchNormalization, Concatenate, Conv2D, Conv2DTranspose, Dense, Dropout, Flatten, Input,
                             Lambda, LeakyReLU)
from tf_keras.models import Model, Sequential
from tf_keras.optimizers.legacy import SGD, Adam, RMSprop

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "keras_h5")


class InstanceNormalization(keras.layers.Layer):
    """keras-contrib's InstanceNormalization (chapter 26): (x - mean) / (std + epsilon) * gamma + beta."""

    def __init__(self, axis=None, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if any(x is not None for x in (beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint)):
            raise NotImplementedError("this stand-in for keras-contrib's layer has no regularizers or constraints")
        self.axis, self.epsilon, self.center, self.scale = axis, epsilon, center, scale
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)

    def build(self, input_shape):
        shape = (1,) if self.axis is None else (input_shape[self.axis],)
        self.gamma = self.add_weight(shape=shape, name="gamma", initializer=self.gamma_initializer) \
            if self.scale else None
        self.beta = self.add_weight(shape=shape, name="beta", initializer=self.beta_initializer) \
            if self.center else None
        super().build(input_shape)

    def call(self, inputs, training=None):
        ndim = len(inputs.shape)
        axes = [i for i in range(1, ndim) if self.axis is None or i != ndim + self.axis and i != self.axis]
        mean = K.mean(inputs, axes, keepdims=True)
        stddev = K.std(inputs, axes, keepdims=True) + self.epsilon
        normed = (inputs - mean) / stddev
        broadcast = [1] * ndim
        if self.axis is not None:
            broadcast[self.axis] = inputs.shape[self.axis]
        if self.scale:
            normed = normed * K.reshape(self.gamma, broadcast)
        if self.center:
            normed = normed + K.reshape(self.beta, broadcast)
        return normed

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "beta_initializer": keras.initializers.serialize(self.beta_initializer),
                "gamma_initializer": keras.initializers.serialize(self.gamma_initializer), "beta_regularizer": None,
                "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None}


def custom_activation(output):
    """Chapter 20 (Listing 20.6): D(x) = Z(x) / (Z(x) + 1)."""
    logexpsum = K.sum(K.exp(output), axis=-1, keepdims=True)
    return logexpsum / (logexpsum + 1.0)


def dcgan_discriminator(in_shape=(28, 28, 1)):
    """The book's define_discriminator (chapter 7): two blocks of Conv2D(64, 3x3, stride 2, same), LeakyReLU(0.2) and
    Dropout(0.4), then Flatten and Dense(1, sigmoid)."""
    blocks = [[Conv2D(64, (3, 3), strides=(2, 2), padding="same", **({"input_shape": in_shape} if i == 0 else {})),
               LeakyReLU(alpha=0.2), Dropout(0.4)] for i in range(2)]
    model = Sequential([layer for block in blocks for layer in block] + [Flatten(), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=Adam(learning_rate=0.0002, beta_1=0.5), metrics=["accuracy"])
    return model


def functional_bn_concat():
    image, code = Input(shape=(8, 8, 3), name="image"), Input(shape=(4,), name="code")
    x = LeakyReLU(0.2)(BatchNormalization()(Conv2D(6, (3, 3), strides=(2, 2), padding="same")(image)))
    c = keras.layers.Reshape((4, 4, 1))(Dense(16)(code))
    x = Concatenate()([x, c])
    up = Conv2DTranspose(3, (4, 4), strides=(2, 2), padding="same", activation="tanh")(x)
    score = Dense(1, activation="sigmoid")(Flatten()(x))
    model = Model([image, code], [up, score])
    model.compile(loss=["mae", "binary_crossentropy"], optimizer=Adam(learning_rate=0.01), loss_weights=[100, 1])
    return model


def instance_norm_model():
    image = Input(shape=(8, 8, 2))
    x = Conv2D(4, (3, 3), padding="same")(image)
    x = InstanceNormalization(axis=-1)(x)
    return Model(image, LeakyReLU(0.2)(x))


def sgan_lambda():
    image = Input(shape=(6,))
    logits = Dense(10)(image)
    return Model(image, Lambda(custom_activation)(logits))


def many_layers():
    z, label, image = Input(shape=(6,)), Input(shape=(1,)), Input(shape=(8, 8, 2))
    embedded = L.Reshape((2, 2, 1))(Dense(4)(Flatten()(L.Embedding(10, 5)(label))))
    x = L.Reshape((2, 2, 3))(L.Activation("relu")(Dense(12, kernel_initializer="he_normal")(z)))
    x = Conv2DTranspose(2, (3, 3), strides=(2, 2), padding="same", use_bias=False)(L.UpSampling2D()(
        Concatenate()([x, embedded])))
    y = Conv2D(2, (3, 3), padding="same", kernel_initializer=keras.initializers.RandomNormal(stddev=0.02))(image)
    s = L.Add()([x, L.UpSampling2D()(L.MaxPooling2D()(y))])
    m = L.Multiply()([s, image])
    a = L.Average()([m, s])
    d = L.Maximum()([L.Subtract()([a, m]), L.Minimum()([a, s])])
    d = Dropout(0.3)(BatchNormalization(momentum=0.8)(d))
    model = Model([z, label, image], [Dense(1, activation="sigmoid")(Flatten()(LeakyReLU(0.2)(d))), d])
    model.compile(loss=["binary_crossentropy", "mse"], optimizer=RMSprop(0.001), metrics=["accuracy"])
    return model


def sequential_sgd():
    model = Sequential([Dense(5, input_shape=(3,)), L.Activation("tanh"), Dense(2, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=SGD(0.01, momentum=0.9))
    return model


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20)
    tf.random.set_seed(20)
    expected = {}

    d = dcgan_discriminator()
    x = rng.uniform(-1, 1, (16, 28, 28, 1)).astype("float32")
    d.train_on_batch(x, np.ones((16, 1), "float32"))
    d.save(os.path.join(OUT, "dcgan_discriminator.h5"))
    expected["dcgan_discriminator/x"], expected["dcgan_discriminator/y"] = x[:4], d.predict(x[:4], verbose=0)

    f = functional_bn_concat()
    xi, xc = rng.uniform(-1, 1, (8, 8, 8, 3)).astype("float32"), rng.standard_normal((8, 4)).astype("float32")
    for _ in range(3):  # moves BatchNormalization's moving statistics off their initial 0 / 1
        f.train_on_batch([xi * 3 + 1, xc], [rng.uniform(-1, 1, (8, 8, 8, 3)), np.ones((8, 1))])
    f.save(os.path.join(OUT, "functional_bn_concat.h5"))
    f.save_weights(os.path.join(OUT, "functional_weights.h5"))
    up, score = f.predict([xi[:3], xc[:3]], verbose=0)
    expected.update({"functional_bn_concat/image": xi[:3], "functional_bn_concat/code": xc[:3],
                     "functional_bn_concat/up": up, "functional_bn_concat/score": score})

    n = instance_norm_model()
    n.layers[2].set_weights([rng.uniform(0.5, 1.5, 4).astype("float32"), rng.standard_normal(4).astype("float32")])
    n.save(os.path.join(OUT, "instance_norm.h5"))
    xn = rng.standard_normal((2, 8, 8, 2)).astype("float32")
    expected["instance_norm/x"], expected["instance_norm/y"] = xn, n.predict(xn, verbose=0)

    s = sgan_lambda()
    s.save(os.path.join(OUT, "sgan_lambda.h5"))
    xs = rng.standard_normal((3, 6)).astype("float32")
    expected["sgan_lambda/x"], expected["sgan_lambda/y"] = xs, s.predict(xs, verbose=0)

    many = many_layers()
    ins = [rng.standard_normal((4, 6)).astype("float32"), np.arange(4).reshape(4, 1),
           rng.standard_normal((4, 8, 8, 2)).astype("float32")]
    many.train_on_batch(ins, [np.ones((4, 1)), np.zeros((4, 8, 8, 2))])
    many.save(os.path.join(OUT, "many_layers.h5"))
    score, image = many.predict(ins, verbose=0)
    expected.update({"many_layers/z": ins[0], "many_layers/label": ins[1], "many_layers/image": ins[2],
                     "many_layers/score": score, "many_layers/out": image})

    sgd = sequential_sgd()
    sgd.train_on_batch(np.ones((2, 3)), np.array([[0, 1], [1, 0]]))
    sgd.save(os.path.join(OUT, "sequential_sgd.h5"))
    xq = rng.standard_normal((3, 3)).astype("float32")
    expected["sequential_sgd/x"], expected["sequential_sgd/y"] = xq, sgd.predict(xq, verbose=0)

    np.savez(os.path.join(OUT, "expected.npz"), **expected)
    print(f"tf {tf.__version__}, tf-keras {keras.__version__}; wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    sys.exit(main())
