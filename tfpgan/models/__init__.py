"""Models: equalized-LR layers, progressive generator/discriminator, classifiers."""
