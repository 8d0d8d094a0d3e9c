"""Tests for RoomDB's alarm."""
