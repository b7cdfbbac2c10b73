"""GAN evaluation (book chapters 11-13): Inception Score, FID and KID, and the feature extraction behind them.

``scores`` has the formulas on arrays; ``features`` turns images into Inception v3 (or digit-classifier, or any
model's) features and probabilities, in batches with a progress bar. The ``tinygan metrics`` command is in
``tinygan.metrics_cli``.

Layer 5 (applications): ``scores`` imports only NumPy/SciPy and ``tinygan.errors``; ``features`` imports
``tinygan.keras`` (its Inception v3, ``load_model``) and the quality classifiers of ``tinygan.gans`` at call
time. The command line, the GAN modules' ``--eval-every`` evaluation, the Inception benchmark and the tests import
it; nothing in keras or below does.
"""
from .scores import (MetricError, feature_statistics, frechet_distance, group_inception_score, inception_score,
                     kernel_inception_distance, polynomial_mmd2_unbiased)
from .features import resize

__all__ = ["MetricError", "feature_statistics", "frechet_distance", "group_inception_score", "inception_score",
           "kernel_inception_distance", "polynomial_mmd2_unbiased", "resize"]
