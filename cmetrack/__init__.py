"""cmetrack: case management and tracking for children missing education."""

__version__ = "0.1.0"
