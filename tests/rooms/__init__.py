"""Tests for the pure room-database logic."""
