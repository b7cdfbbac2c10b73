"""The book's GANs (chapters 4-10 and the Pix2Pix chapters), written on tinygan.keras.

Layer 5 (applications): these modules import ``tinygan.keras``, ``tinygan.training`` and the layers below; only the
command line (``tinygan.cli``, the ``*_cli`` modules here) and the tests import them. Nothing in ``tinygan.keras``,
``ops``, ``kernels`` or ``autograd`` may import from here.
"""
