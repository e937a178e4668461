"""Vocalis: a self-hostable text-to-speech API platform."""

__version__ = "0.1.0"
