"""The book's GANs (chapters 4-10 and the Pix2Pix chapters), written on tinygan.keras."""
