"""Command-line front door of fast-hp-transfer: ``fasttransfer analyze|plan|verify|
simulate|figures|coordcheck``. Owns no math: it parses, validates, calls ``theory``,
``simulations`` and ``paper_figures``, and writes results."""

__version__ = "0.1.0"
