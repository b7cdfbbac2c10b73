"""An objective quality check for generated digits that needs no external weights.

The book judges generated images by eye ("there are no good objective metrics", chapter 5). For digits a cheap
objective check exists: a small classifier, trained by tinygan on the 4,000 training digits of the embedded
MNIST sample (:func:`tinygan.gans.dcgan_mnist.split_mnist_5k`) and tested on the other 1,000, scores a batch of
generated digits by

* ``confident_share``: the share classified with probability at least ``threshold`` (0.9) -- plausible digits
  get confident predictions, blobs and scribbles do not;
* ``class_coverage``: how many of the 10 classes appear among the confident predictions -- a collapsed generator
  covers few (``class_coverage_all`` counts every argmax);
* ``class_counts`` and ``mean_confidence``.

:func:`score_real_digits` gives the same numbers for held-out real digits as the reference.
"""
import os

import numpy as np

from tinygan.keras.layers import Conv2D, Dense, Flatten, MaxPooling2D
from tinygan.keras.models import Sequential, load_model
from tinygan.keras.optimizers import Adam


def define_classifier(in_shape=(28, 28, 1), n_classes=10):
    """A small CNN (56,714 params): two 3x3 conv + 2x2 max-pool stages, a 64-unit dense layer, softmax."""
    model = Sequential()
    model.add(Conv2D(16, (3, 3), activation='relu', input_shape=in_shape))
    model.add(MaxPooling2D())
    model.add(Conv2D(32, (3, 3), activation='relu'))
    model.add(MaxPooling2D())
    model.add(Flatten())
    model.add(Dense(64, activation='relu'))
    model.add(Dense(n_classes, activation='softmax'))
    model.compile(loss='sparse_categorical_crossentropy', optimizer=Adam(lr=0.001), metrics=['accuracy'])
    return model


def prepare_digits(images):
    """uint8 ``(n, 28, 28)`` / float ``(n, 28, 28, 1)`` in [0,255], [0,1] or [-1,1] -> float32
    ``(n, 28, 28, 1)`` in [0,1]."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.dtype == np.uint8 or x.max() > 1.5:
        return (x.astype('float32') / 255.0)
    x = x.astype('float32')
    if x.min() < -0.01:                 # a tanh generator: [-1,1] -> [0,1]
        x = (x + 1) / 2.0
    return np.clip(x, 0.0, 1.0)


def train_classifier(epochs=8, batch_size=64, log=print, data=None, verbose=0):
    """Train :func:`define_classifier` on the embedded training digits; returns ``(model, test_accuracy)``.

    ``data``: ``((trainX, trainy), (testX, testy))`` to use instead of the embedded split.
    """
    if data is None:
        from .dcgan_mnist import split_mnist_5k
        data = split_mnist_5k()
    (trainX, trainy), (testX, testy) = data
    model = define_classifier()
    X, y = prepare_digits(trainX), np.asarray(trainy).reshape(-1, 1)
    # shuffled mini-batch epochs (what ``model.fit(X, y, batch_size, epochs)`` does)
    for epoch in range(epochs):
        ix = np.random.permutation(len(X))
        losses = [model.train_on_batch(X[ix[k:k + batch_size]], y[ix[k:k + batch_size]])
                  for k in range(0, len(X), batch_size)]
        if verbose and log:
            loss, acc = np.mean(np.asarray(losses, dtype=np.float64), axis=0)
            log('epoch %d/%d - loss: %.4f - acc: %.4f' % (epoch + 1, epochs, loss, acc))
    _, acc = model.evaluate(prepare_digits(testX), np.asarray(testy).reshape(-1, 1), verbose=0)
    acc = float(np.asarray(acc).reshape(-1)[0])
    if log:
        log('>Classifier test accuracy: %.1f%% (%d training, %d test digits)' % (100 * acc, len(trainX), len(testX)))
    return model, acc


def get_classifier(path=None, log=print, **train_kwargs):
    """Load the classifier saved at ``path`` if it exists; otherwise train one (and save it there when given).
    Returns ``(model, test_accuracy)``; the accuracy is re-measured on the embedded test digits after a load."""
    if path and os.path.exists(path):
        model = load_model(path)
        from .dcgan_mnist import split_mnist_5k
        _, (testX, testy) = split_mnist_5k()
        _, acc = model.evaluate(prepare_digits(testX), np.asarray(testy).reshape(-1, 1), verbose=0)
        acc = float(np.asarray(acc).reshape(-1)[0])
        if log:
            log('>Classifier %s: test accuracy %.1f%%' % (path, 100 * acc))
        return model, acc
    model, acc = train_classifier(log=log, **train_kwargs)
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        model.save(path)
    return model, acc


def score_digits(classifier, images, threshold=0.9, batch_size=250):
    """Score digit images (any of the ranges :func:`prepare_digits` accepts); returns a dict of numbers."""
    x = prepare_digits(images)
    probs = np.asarray(classifier.predict(x, batch_size=batch_size), dtype=np.float64)
    conf = probs.max(axis=1)
    labels = probs.argmax(axis=1)
    confident = conf >= threshold
    counts = np.bincount(labels[confident], minlength=probs.shape[1])
    return {
        "n": int(len(x)),
        "threshold": float(threshold),
        "confident_share": float(confident.mean()),
        "class_coverage": int(np.count_nonzero(counts)),
        "class_coverage_all": int(len(np.unique(labels))),
        "class_counts": counts.tolist(),
        "mean_confidence": float(conf.mean()),
    }


def score_generator(g_model, latent_dim, classifier, n=1000, threshold=0.9):
    """Generate ``n`` digits from standard-normal latent points and :func:`score_digits` them."""
    from .hacks import generate_latent_points
    z = generate_latent_points(latent_dim, n).astype('float32')
    return score_digits(classifier, g_model.predict(z, batch_size=250), threshold)


def score_real_digits(classifier, n=1000, threshold=0.9):
    """The reference: the same numbers for ``n`` held-out real digits (the embedded test split)."""
    from .dcgan_mnist import split_mnist_5k
    _, (testX, _) = split_mnist_5k()
    return score_digits(classifier, testX[:n], threshold)


def format_score(name, s):
    return ("%s: %d digits, %.1f%% classified with p >= %.2f, %d/10 classes among them (%d/10 by argmax), "
            "mean confidence %.3f, counts %s" % (name, s["n"], 100 * s["confident_share"], s["threshold"],
                                                 s["class_coverage"], s["class_coverage_all"],
                                                 s["mean_confidence"], s["class_counts"]))


# ------------------------------------------------------------------------------------ chapters 15-20 (Part IV-V)
def class_accuracy(g_model, latent_dim, classifier, n_per_class=100, n_classes=10):
    """Conditional generators (cGAN, AC-GAN): the share of digits drawn for class k that the classifier reads as
    k, overall and per class (``n_per_class`` each)."""
    from .conditional import latent_points
    labels = np.repeat(np.arange(n_classes), n_per_class)
    X = g_model.predict([latent_points(latent_dim, len(labels)).astype('float32'), labels], batch_size=250)
    read = np.asarray(classifier.predict(prepare_digits(X), batch_size=250)).argmax(axis=1)
    per_class = [float(np.mean(read[labels == k] == k)) for k in range(n_classes)]
    return {"class_accuracy": float(np.mean(read == labels)), "per_class": per_class, "n": int(len(labels))}


def code_metrics(g_model, q_model, latent_dim, n_cat, classifier, n_per_code=100):
    """InfoGAN: ``q_recovery``, the share of images whose code Q recovers (argmax); ``consistency``, the mean over
    code values of the share of its images that the classifier reads as that value's most common digit;
    ``digits``, the most common digit of each code value (distinct digits: ``n_distinct``)."""
    from .infogan import generate_latent_points
    codes = np.repeat(np.arange(n_cat), n_per_code)
    z, _ = generate_latent_points(latent_dim, n_cat, len(codes), codes=codes)
    X = g_model.predict(z.astype('float32'), batch_size=250)
    q = np.asarray(q_model.predict(X, batch_size=250)).argmax(axis=1)
    read = np.asarray(classifier.predict(prepare_digits(X), batch_size=250)).argmax(axis=1)
    digits, shares = [], []
    for c in range(n_cat):
        counts = np.bincount(read[codes == c], minlength=10)
        digits.append(int(counts.argmax()))
        shares.append(float(counts.max() / n_per_code))
    return {"q_recovery": float(np.mean(q == codes)), "consistency": float(np.mean(shares)),
            "consistency_per_code": shares, "digits": digits, "n_distinct": int(len(set(digits)))}


def score_part3(name, g_model, settings, classifier, c_model=None, q_model=None, test=None):
    """The quality figures of one chapter 15-20 model (the README's Part IV-V table), as a dict."""
    latent = settings["latent_dim"]
    if name in ("cgan", "acgan"):
        return class_accuracy(g_model, latent, classifier)
    if name == "infogan":
        return code_metrics(g_model, q_model, latent, settings["n_cat"], classifier)
    out = score_generator(g_model, latent, classifier, n=1000)
    if name == "sgan" and test is not None:
        _, acc = c_model.evaluate(test[0], np.asarray(test[1]).reshape(-1, 1), verbose=0)
        out["test_accuracy"] = float(acc)
    return out
