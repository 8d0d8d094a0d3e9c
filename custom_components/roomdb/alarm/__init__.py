"""RoomDB's alarm: a pure state machine, conflict rules and state mapping, plus the HA sync glue."""
