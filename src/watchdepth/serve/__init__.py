"""The running service (``watchdepth serve``): its parts, its loop and its HTTP servers.

- ``services``: the parts built once from ``Settings`` (store, catalog, tokens, collector, ingest).
- ``ingest``: the group-commit loop: validated events -> sessionizer -> one durable write -> 202.
- ``app``: wiring only: the ASGI app of every route, and the admin app on a local socket.
- ``server``: uvicorn with the connection guard, the admin socket, signals, the one-process lock.
- ``gc_tuning``: Python's garbage collector tuned for much long-lived state.
"""
