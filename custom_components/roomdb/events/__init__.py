"""RoomDB event stream: sequence numbers, the ring buffer, the wire format and the sender.

The modules ``event``, ``runs``, ``ring``, ``sequence``, ``document``, and ``wire`` are
pure Python (no ``homeassistant`` import) and are tested directly; ``buffer`` (Store persistence),
``sink`` (the HTTP sender), ``forwarder`` and ``stream`` are the thin HA glue. ``ledger`` and
``journal`` keep the stream's records in RoomDB's database.
"""
