"""RoomDB's SQLite store, which every part may use: the one connection, its schema and migrations.

Table of contents (the layout every part follows, as far as a store has the roles):

runtime       ``database``: the one aiosqlite connection, its batching writer and control-plane
              transactions
store / db    ``schema``: forward-only migrations, contract views and metadata keys; ``compact``:
              the ML tables' dictionaries and the background copy of an older layout into them
pure core     ``metadata``: what a ``metadata`` value may look like, by its key
sensors, services, options: none of its own; the coordinator reads ``Database.stats``
"""
