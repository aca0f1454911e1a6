"""watchdepth: self-hostable video analytics with exact views, watch time and watch depth."""

__version__ = "0.1.0"

__all__ = ["__version__"]
