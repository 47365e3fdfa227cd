"""Beachhead: product-led sales from product usage, definitions as code."""

__version__ = "0.1.0"
