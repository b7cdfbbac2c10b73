"""Check by hand that files tinygan writes open in real Keras (tf-keras, Keras 2), and that a Keras file passed
through tinygan comes back to Keras with every weight bit-exact. Tests cannot do this (they never need TF):

    /work/venv/bin/python   scripts/check_tinygan_h5_in_keras.py write /tmp/h5check    # tinygan writes
    TF_USE_LEGACY_KERAS=1 /work/tfvenv/bin/python scripts/check_tinygan_h5_in_keras.py check /tmp/h5check

``write`` builds, trains a step and saves with tinygan: the book's DCGAN discriminator (compiled, Adam), a
functional model with BatchNormalization, Concatenate and two outputs (compiled), a GAN composite (a frozen
discriminator with BatchNormalization nested in a Sequential), chapter 20's ``Lambda(custom_activation)``, chapter 26's
InstanceNormalization, a weights-only file; and it re-saves every fixture of tests/fixtures/keras_h5 after loading
it in tinygan. ``check`` opens each file with ``tf_keras.models.load_model`` and compares: predictions (tf-keras vs
tinygan, float32 tolerance), every weight (bit-exact), the optimizer's iteration count and slots (bit-exact), and
one more ``train_on_batch`` runs. Prints one line per file and exits non-zero on any failure.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures", "keras_h5")
ROUNDTRIP = ("dcgan_discriminator", "functional_bn_concat", "instance_norm", "sgan_lambda", "many_layers",
             "sequential_sgd")


def custom_activation_tinygan(output):
    from tinygan.keras import backend as K
    logexpsum = K.sum(K.exp(output), axis=-1, keepdims=True)
    return logexpsum / (logexpsum + 1.0)


def write(folder):
    sys.path.insert(0, os.path.join(HERE, ".."))
    import tinygan.random
    from tinygan.keras.layers import (BatchNormalization, Concatenate, Conv2D, Conv2DTranspose, Dense, Dropout,
                                      Flatten, Input, InstanceNormalization, Lambda, LeakyReLU, Reshape)
    from tinygan.keras.models import Model, Sequential, load_model
    from tinygan.keras.optimizers import Adam
    custom_activation = custom_activation_tinygan
    custom_activation.__name__ = "custom_activation"
    os.makedirs(folder, exist_ok=True)
    tinygan.random.seed(1)
    rng = np.random.default_rng(1)
    record = {}

    def save(name, model, inputs, weights_only=False):
        path = os.path.join(folder, name + ".h5")
        (model.save_weights if weights_only else model.save)(path)
        outs = model.predict(inputs)
        for i, x in enumerate(inputs if isinstance(inputs, list) else [inputs]):
            record[f"{name}/in{i}"] = x
        for i, y in enumerate(outs if isinstance(outs, list) else [outs]):
            record[f"{name}/out{i}"] = y
        for i, w in enumerate(model.get_weights()):
            record[f"{name}/w{i}"] = w
        if getattr(model, "optimizer", None) is not None and not weights_only:
            record[f"{name}/iterations"] = np.asarray(model.optimizer.iterations)
            for key, value in model.optimizer.get_state().items():
                if ":" in key:
                    record[f"{name}/opt/{key}"] = value

    d = Sequential([Conv2D(64, (3, 3), strides=(2, 2), padding="same", input_shape=(28, 28, 1)), LeakyReLU(alpha=0.2),
                    Dropout(0.4), Conv2D(64, (3, 3), strides=(2, 2), padding="same"), LeakyReLU(alpha=0.2),
                    Dropout(0.4), Flatten(), Dense(1, activation="sigmoid")])
    d.compile(loss="binary_crossentropy", optimizer=Adam(lr=0.0002, beta_1=0.5), metrics=["accuracy"])
    x = rng.uniform(-1, 1, (8, 28, 28, 1)).astype("float32")
    d.train_on_batch(x, np.ones((8, 1)))
    save("tg_dcgan_discriminator", d, x[:3])
    save("tg_dcgan_discriminator_weights", d, x[:3], weights_only=True)

    image, code = Input(shape=(8, 8, 3)), Input(shape=(4,))
    h = LeakyReLU(0.2)(BatchNormalization()(Conv2D(6, (3, 3), strides=(2, 2), padding="same")(image)))
    h = Concatenate()([h, Reshape((4, 4, 1))(Dense(16)(code))])
    f = Model([image, code], [Conv2DTranspose(3, (4, 4), strides=(2, 2), padding="same", activation="tanh")(h),
                              Dense(1, activation="sigmoid")(Flatten()(h))])
    f.compile(loss=["mae", "binary_crossentropy"], optimizer=Adam(lr=0.01), loss_weights=[100, 1])
    xi, xc = rng.uniform(-1, 1, (6, 8, 8, 3)).astype("float32"), rng.standard_normal((6, 4)).astype("float32")
    for _ in range(3):
        f.train_on_batch([xi * 2 + 1, xc], [np.zeros((6, 8, 8, 3)), np.ones((6, 1))])
    save("tg_functional_bn_concat", f, [xi, xc])

    g = Sequential([Dense(7 * 7 * 8, input_dim=5), LeakyReLU(0.2), Reshape((7, 7, 8)),
                    Conv2DTranspose(8, (4, 4), strides=(4, 4), padding="same"), LeakyReLU(0.2),
                    Conv2D(1, (7, 7), activation="tanh", padding="same")])
    critic = Sequential([Conv2D(8, (3, 3), strides=(2, 2), padding="same", input_shape=(28, 28, 1)),
                         BatchNormalization(), LeakyReLU(0.2), Flatten(), Dense(1, activation="sigmoid")])
    critic.compile(loss="binary_crossentropy", optimizer=Adam(lr=0.0002, beta_1=0.5))
    critic.train_on_batch(x * 3 + 1, np.ones((8, 1)))  # moving statistics away from 0 / 1
    critic.trainable = False
    gan = Sequential([g, critic])
    gan.compile(loss="binary_crossentropy", optimizer=Adam(lr=0.0002, beta_1=0.5))
    z = rng.standard_normal((4, 5)).astype("float32")
    gan.train_on_batch(z, np.ones((4, 1)))
    save("tg_gan_composite", gan, z)

    inp = Input(shape=(6,))
    sgan = Model(inp, Lambda(custom_activation)(Dense(10)(inp)))
    save("tg_sgan_lambda", sgan, rng.standard_normal((3, 6)).astype("float32"))

    inp = Input(shape=(8, 8, 2))
    norm = InstanceNormalization(axis=-1)
    inorm = Model(inp, LeakyReLU(0.2)(norm(Conv2D(4, (3, 3), padding="same")(inp))))
    norm.set_weights([rng.uniform(0.5, 1.5, 4).astype("float32"), rng.standard_normal(4).astype("float32")])
    save("tg_instance_norm", inorm, rng.standard_normal((2, 8, 8, 2)).astype("float32"))

    customs = {"sgan_lambda": {"lambda": custom_activation}}
    for name in ROUNDTRIP:
        load_model(os.path.join(FIXTURES, name + ".h5"), custom_objects=customs.get(name)).save(
            os.path.join(folder, f"roundtrip_{name}.h5"))
    np.savez(os.path.join(folder, "tinygan.npz"), **record)
    print("tinygan wrote", sorted(os.listdir(folder)))


def check(folder):
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    sys.path.insert(0, HERE)
    from make_keras_h5_fixtures import InstanceNormalization, custom_activation, dcgan_discriminator
    import tf_keras as keras
    custom = {"InstanceNormalization": InstanceNormalization, "custom_activation": custom_activation}
    record = np.load(os.path.join(folder, "tinygan.npz"))
    failures = []

    def report(name, ok, detail):
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
        if not ok:
            failures.append(name)

    for name in ("tg_dcgan_discriminator", "tg_functional_bn_concat", "tg_gan_composite", "tg_sgan_lambda",
                 "tg_instance_norm", "tg_dcgan_discriminator_weights"):
        path = os.path.join(folder, name + ".h5")
        try:
            if name.endswith("_weights"):
                model = dcgan_discriminator()
                model.load_weights(path)
            else:
                model = keras.models.load_model(path, custom_objects=custom)
        except Exception as exc:  # report every file, then fail
            report(name, False, f"tf-keras could not open it: {type(exc).__name__}: {exc}")
            continue
        inputs = [record[k] for k in sorted(k for k in record.files if k.startswith(name + "/in"))]
        outs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
        outs = outs if isinstance(outs, list) else [outs]
        diff = max(float(np.abs(o - record[f"{name}/out{i}"]).max()) for i, o in enumerate(outs))
        weights = model.get_weights()
        exact = len(weights) == len([k for k in record.files if k.startswith(name + "/w")]) and all(
            np.array_equal(w, record[f"{name}/w{i}"]) for i, w in enumerate(weights))
        detail = f"predictions max |tf-keras - tinygan| = {diff:.2e}, {len(weights)} weights bit-exact: {exact}"
        ok = diff < 1e-5 and exact
        if f"{name}/iterations" in record.files:
            opt = model.optimizer
            slots = [w for w in opt.weights[1:]]
            ours = [record[k] for k in sorted((k for k in record.files if k.startswith(name + "/opt/")),
                                              key=lambda k: (k.split("/")[-1].split(":")[0] != "m",
                                                             int(k.split(":")[-1])))]
            same = int(opt.iterations.numpy()) == int(record[f"{name}/iterations"]) and len(slots) == len(ours) and \
                all(np.array_equal(a.numpy(), b) for a, b in zip(slots, ours))
            loss = model.train_on_batch(inputs if len(inputs) > 1 else inputs[0],
                                        [np.ones((len(inputs[0]),) + tuple(o.shape[1:])) for o in outs]
                                        if len(outs) > 1 else np.ones((len(inputs[0]), 1)))
            detail += f", optimizer ({type(opt).__name__}) iterations and {len(slots)} slots equal: {same}, " \
                      f"train_on_batch -> {np.round(loss, 4).tolist()}"
            ok = ok and same
        report(name, ok, detail)

    for name in ROUNDTRIP:
        if name == "sgan_lambda":
            original = keras.models.load_model(os.path.join(FIXTURES, name + ".h5"), safe_mode=False,
                                               custom_objects={"K": keras.backend})  # our own bytecode
        else:
            original = keras.models.load_model(os.path.join(FIXTURES, name + ".h5"), custom_objects=custom)
        try:
            back = keras.models.load_model(os.path.join(folder, f"roundtrip_{name}.h5"), custom_objects=custom)
        except Exception as exc:
            report(f"roundtrip_{name}", False, f"tf-keras could not open it: {type(exc).__name__}: {exc}")
            continue
        a, b = original.get_weights(), back.get_weights()
        exact = len(a) == len(b) and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a, b))
        opt = ""
        if original.optimizer is not None and getattr(back, "optimizer", None) is not None and \
                original.optimizer.weights:
            oa, ob = original.optimizer.get_weights(), back.optimizer.get_weights()
            opt_same = len(oa) == len(ob) and all(np.array_equal(x, y) for x, y in zip(oa, ob))
            opt = f", optimizer state ({len(oa)} arrays) bit-exact: {opt_same}"
            exact = exact and opt_same
        report(f"roundtrip_{name}", exact, f"Keras -> tinygan -> Keras, {len(a)} weights bit-exact: {exact}{opt}")
    print("all passed" if not failures else f"{len(failures)} failed: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit(__doc__)
    sys.exit(write(sys.argv[2]) if sys.argv[1] == "write" else check(sys.argv[2]))
