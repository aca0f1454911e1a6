"""Several ``watchdepth serve`` processes on one ClickHouse store (docs/scale-out.md).

- ``roles``: what a node serves as ``all``, ``collector`` or ``api``, the refresh of the
  catalog and tokens other nodes change, a collector's own sessions across a restart.
- ``live_sum``: watching now on an API node, summed from every collector.
"""
