"""bnn-mcu: Larq binary neural networks -> bit-exact XNOR/popcount firmware for Cortex-M."""

__version__ = "0.1.0"
