"""RoomDB's SQLite store: the one connection, its schema and migrations."""
