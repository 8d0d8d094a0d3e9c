"""Real peers RoomDB talks to in tests: the reference Core ingest server."""
