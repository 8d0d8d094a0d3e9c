"""RoomDB's event stream: every event numbered once, kept in a ring and delivered to a remote peer.

Table of contents (the layout every part follows):

runtime       ``runtime``: ``EventStream``, one entry's store, sender and forwarder wired up
store / db    ``store``: the Store document (ring, numbering, device key) and its write-ahead;
              ``ledger``: the stream's identity and high-water mark in RoomDB's database;
              ``journal``: room-config changes still waiting for their event (the outbox)
sensors       ``sensors``: diagnostic sensors read from the coordinator snapshot
services      ``services``: ``flush_events``
options       ``options``: keys, defaults, the form and the connection test
pure core     ``event`` (one numbered event, value checks), ``runs`` (number sets as runs),
              ``window`` (the numbered events kept for resending), ``delivery`` (what the peer
              confirmed), ``ring`` (the two together), ``sequence`` (numbers never reused),
              ``document`` (the one Store document), ``wire`` (the ingest format), ``stats``
              (what the stream reports)
HA glue       ``sink`` (the sender), ``transport`` (one POST), ``forwarder`` (what the stream
              carries from HA's bus)
"""
