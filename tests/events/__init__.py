"""Tests for the pure parts of the RoomDB event stream."""
