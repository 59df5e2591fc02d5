"""tfpgan: class-conditional progressive GANs for small, unbalanced medical image sets."""

__version__ = "0.1.0"
