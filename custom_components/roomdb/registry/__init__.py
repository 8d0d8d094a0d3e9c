"""RoomDB's registry mirror: HA's areas, floors, devices, entities and config entries in SQLite.

Table of contents (the layout every part follows):

runtime       ``runtime``: ``RegistryMirror``, a full sync at start, then every registry change
store / db    ``rows``: the mirror tables, their statements and entries as rows (no I/O);
              ``counts``: the counts the coordinator snapshot carries, read from those tables
sensors       ``sensors``: devices, entities and integrations
services      ``services``: ``resync_registry``
options       none: the mirror has no settings
"""
