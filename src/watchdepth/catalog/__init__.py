"""The catalog: projects, nested folders, videos, streams and broadcast events."""

from watchdepth.catalog.model import ContentInfo

__all__ = ["ContentInfo"]
