"""RoomDB event stream: sequence numbers, the ring buffer, the wire format and retry backoff.

The modules ``ring``, ``wire`` and ``backoff`` are pure Python (no ``homeassistant`` import) and are
tested directly; ``buffer`` (Store persistence) and ``sink`` (the HTTP sender) are the thin HA glue.
"""
