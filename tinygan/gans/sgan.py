"""Chapter 20: the semi-supervised GAN (SGAN) on MNIST (Listings 20.6-20.14) on ``tinygan.keras``.

* :func:`define_discriminator`: the stacked design (Listing 20.6). Three strided 3x3 convs with LeakyReLU(0.2),
  Dropout(0.4) and Dense(10) logits shared by ``c_model`` (softmax; sparse categorical cross-entropy with accuracy)
  and ``d_model`` (``Lambda(custom_activation)``: D(x) = Z/(Z+1) with Z the sum of the exponentiated logits; binary
  cross-entropy). 316,938 shared params;
* :func:`define_generator`: chapter 17's unconditional generator (1,164,289 params), :func:`define_gan`;
* :func:`select_supervised_samples`: ``n_samples / n_classes`` labelled images per class;
* :func:`train`: per step one ``c_model`` update on a labelled half batch, two ``d_model`` updates (real, fake)
  and one generator update, printed as ``>%d, c[%.3f,%.0f], d[%.3f,%.3f], g[%.3f]``; every epoch
  ``generated_plot_%04d.png``, ``Classifier Accuracy: %.3f%%`` on the whole training set (and, with ``test``,
  ``Test Accuracy`` on held-out digits), ``g_model_%04d.h5`` and ``c_model_%04d.h5``.

One choice differs from the book (its section 4 item 12): the labelled images are drawn *without* replacement, so
"100 labels" means 100 distinct labelled digits (the book's ``randint`` may pick an image twice).
"""
import os

from numpy import asarray, ones
from numpy.random import choice

from tinygan.keras import backend
from tinygan.keras.layers import Activation, Dense, Input, Lambda
from tinygan.keras.models import Model
from tinygan.keras.optimizers import Adam

from .cgan import downsample, latent_foundation, upsample_to_image
from .conditional import (DataError, composite, fake_samples, generate_real_samples, latent_points, run_training,
                          save_grid, save_models, scalar)

PLOT_LABELS = {"c": "c", "d1": "d1", "d2": "d2", "g": "g"}


# custom activation function
def custom_activation(output):
    logexpsum = backend.sum(backend.exp(output), axis=-1, keepdims=True)
    result = logexpsum / (logexpsum + 1.0)
    return result


# define the standalone supervised and unsupervised discriminator models
def define_discriminator(in_shape=(28, 28, 1), n_classes=10):
    # image input
    in_image = Input(shape=in_shape)
    # three downsampling convs, flatten, dropout
    fe = downsample(in_image, 3)
    # output layer nodes
    fe = Dense(n_classes)(fe)
    # supervised output
    c_out_layer = Activation('softmax')(fe)
    # define and compile supervised discriminator model
    c_model = Model(in_image, c_out_layer)
    c_model.compile(loss='sparse_categorical_crossentropy', optimizer=Adam(lr=0.0002, beta_1=0.5),
                    metrics=['accuracy'])
    # unsupervised output
    d_out_layer = Lambda(custom_activation)(fe)
    # define and compile unsupervised discriminator model
    d_model = Model(in_image, d_out_layer)
    d_model.compile(loss='binary_crossentropy', optimizer=Adam(lr=0.0002, beta_1=0.5))
    return d_model, c_model


# define the standalone generator model
def define_generator(latent_dim):
    # image generator input
    in_lat = Input(shape=(latent_dim,))
    # foundation for 7x7 image, upsample to 28x28, tanh output
    out_layer = upsample_to_image(latent_foundation(in_lat))
    # define model
    model = Model(in_lat, out_layer)
    return model


# define the combined generator and discriminator model, for updating the generator
def define_gan(g_model, d_model):
    """Listing 20.8: the frozen unsupervised discriminator on the generator's image."""
    return composite(g_model, d_model, 'binary_crossentropy')


# select a supervised subset of the dataset, ensures classes are balanced
def select_supervised_samples(dataset, n_samples=100, n_classes=10):
    """``n_samples / n_classes`` distinct images of each class (without replacement; see the module docstring)."""
    X, y = dataset
    n_per_class = int(n_samples / n_classes)
    if n_per_class < 1 or n_samples > len(X):
        raise DataError(f"--n-labelled {n_samples}: need between {n_classes} (one per class) and {len(X)} (the "
                        "training images) labelled examples")
    X_list, y_list = list(), list()
    for i in range(n_classes):
        # get all images for this class
        X_with_class = X[y == i]
        if len(X_with_class) < n_per_class:
            raise DataError(f"--n-labelled {n_samples} needs {n_per_class} images of class {i}, but the data has "
                            f"{len(X_with_class)}")
        # choose random instances
        ix = choice(len(X_with_class), n_per_class, replace=False)
        # add to list
        [X_list.append(X_with_class[j]) for j in ix]
        [y_list.append(i) for j in ix]
    return asarray(X_list), asarray(y_list)


# use the generator to generate n fake examples, with class labels
def generate_fake_samples(generator, latent_dim, n_samples):
    return fake_samples(generator, latent_dim, n_samples)


def classifier_accuracy(c_model, X, y):
    """``c_model.evaluate``'s accuracy on ``(X, y)`` as a fraction."""
    _, acc = c_model.evaluate(X, y, verbose=0)
    return float(acc)


# generate samples and save as a plot and save the model
def summarize_performance(step, g_model, c_model, latent_dim, dataset, n_samples=100, test=None, out_dir=".",
                          log=print):
    """Listing 20.13; ``test``: held-out ``(X, y)`` also scored (``Test Accuracy``). Returns the accuracies."""
    # prepare fake examples
    X, _ = generate_fake_samples(g_model, latent_dim, n_samples)
    # save plot to file
    filename1 = os.path.join(out_dir, 'generated_plot_%04d.png' % (step + 1))
    save_grid(X, filename1)
    # evaluate the classifier model
    X, y = dataset
    acc = classifier_accuracy(c_model, X, y)
    accs = {"train": acc}
    if log:
        log('Classifier Accuracy: %.3f%%' % (acc * 100))
    if test is not None:
        accs["test"] = classifier_accuracy(c_model, *test)
        if log:
            log('Test Accuracy: %.3f%%' % (accs["test"] * 100))
    # save the generator and classifier models
    save_models(step, {'g_model_%04d.h5': g_model, 'c_model_%04d.h5': c_model}, filename1, out_dir, log)
    return accs


# train the generator and discriminator
def train(g_model, d_model, c_model, gan_model, dataset, latent_dim, n_epochs=20, n_batch=100, *, n_labelled=100,
          n_classes=10, test=None, save_every=None, out_dir=".", log=print, **session):
    """Listing 20.14 on ``dataset = [images, labels]``. ``test``: held-out ``(X, y)`` scored at each summary;
    ``session``: the options of :func:`tinygan.gans.conditional.run_training` (on resume, the labelled subset is
    drawn again first, from the same seed, before the checkpoint restores the RNG)."""
    # select supervised dataset
    X_sup, y_sup = select_supervised_samples(dataset, n_labelled, n_classes)
    if log:
        log('%s %s' % (X_sup.shape, y_sup.shape))
    # calculate the number of batches per training epoch
    bat_per_epo = int(dataset[0].shape[0] / n_batch)
    # calculate the number of training iterations
    n_steps = bat_per_epo * n_epochs
    # calculate the size of half a batch of samples
    half_batch = int(n_batch / 2)
    if log:
        log('n_epochs=%d, n_batch=%d, 1/2=%d, b/e=%d, steps=%d' % (n_epochs, n_batch, half_batch, bat_per_epo,
                                                                  n_steps))

    def step(i):
        # update supervised discriminator (c)
        [Xsup_real, ysup_real], _ = generate_real_samples([X_sup, y_sup], half_batch)
        c_loss, c_acc = c_model.train_on_batch(Xsup_real, ysup_real)
        # update unsupervised discriminator (d)
        [X_real, _], y_real = generate_real_samples(dataset, half_batch)
        d_loss1 = d_model.train_on_batch(X_real, y_real)
        X_fake, y_fake = generate_fake_samples(g_model, latent_dim, half_batch)
        d_loss2 = d_model.train_on_batch(X_fake, y_fake)
        # update generator (g)
        X_gan, y_gan = latent_points(latent_dim, n_batch), ones((n_batch, 1))
        g_loss = gan_model.train_on_batch(X_gan, y_gan)
        return {"c": scalar(c_loss), "c_acc": scalar(c_acc), "d1": scalar(d_loss1), "d2": scalar(d_loss2),
                "g": scalar(g_loss)}

    return run_training(
        {"d_model": d_model, "c_model": c_model, "g_model": g_model, "gan_model": gan_model}, n_steps, step,
        lambda i, v: '>%d, c[%.3f,%.0f], d[%.3f,%.3f], g[%.3f]' % (i + 1, v["c"], v["c_acc"] * 100, v["d1"], v["d2"],
                                                                  v["g"]),
        fields=("c", "c_acc", "d1", "d2", "g"), plot_labels=PLOT_LABELS, desc="sgan",
        save_every=save_every or bat_per_epo,
        summarize=lambda i, write: summarize_performance(i, g_model, c_model, latent_dim, dataset, test=test,
                                                         out_dir=out_dir, log=write),
        samples=lambda: (generate_fake_samples(g_model, latent_dim, 100)[0], generate_real_samples(dataset, 100)[0][0]),
        out_dir=out_dir, log=log, extra={"chapter": 20, "latent_dim": latent_dim, "n_batch": n_batch,
                                         "n_labelled": n_labelled}, **session)
