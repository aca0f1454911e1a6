"""Synthetic viewing for trying watchdepth out.

- ``workspace``: ``serve --demo``: a catalog and a few weeks of viewing, through the import path.
- ``simulate``: ``watchdepth simulate``: live viewers against a running server's ``/collect``.
"""
