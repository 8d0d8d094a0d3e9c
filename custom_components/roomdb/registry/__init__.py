"""Registry mirror: HA's areas, floors, devices, entities and config entries kept in SQLite.

`mirror.py` follows the registries in real time, `rows.py` maps entries to rows, `counts.py` feeds
the coordinator, `sensors.py` and `services.py` are the user-facing glue.
"""
