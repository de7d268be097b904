"""The version of tganaug (also ``tganaug.__version__`` and ``tganaug --version``)."""

__version__ = "0.1.0"
