"""Pure room-database logic: area mapping, admission, write limiting and the export document.

Nothing in this package imports ``homeassistant``; the HA glue calls into it.
"""
