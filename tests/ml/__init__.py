"""Tests of the pure ML core (no Home Assistant needed)."""
