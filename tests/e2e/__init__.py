"""End-to-end tests in a real browser against a real Home Assistant process."""
