"""The player tracker: tracker.js, which turns player events into /collect batches, and
the pages that serve it (``routes``: /tracker.js, /demo, /embed/{id}, /media/{name}).

It does not receive or count events; ``collect`` and ``sessionize`` do.
"""
