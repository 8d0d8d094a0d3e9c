"""Loggers whose every line names the part of RoomDB that wrote it (pure Python, no HA import).

A line reads ``roomdb/rooms/activity: Kitchen became active``: ``roomdb/<part>/<component>``,
where the part is the package folder (``rooms``, ``events``, ``ml``, ``alarm``, ``registry``,
``db``) and modules at the top of the package belong to ``core``. The prefix lets a user filter
one part's lines in Home Assistant's log; the logger itself keeps its module name
(``custom_components.roomdb.rooms.activity``), so Home Assistant's ``logger:`` settings and the
``logger.set_level`` action turn one part's debug lines on by its dotted name.
"""

from __future__ import annotations

import logging

PACKAGE = "custom_components.roomdb"
CORE_PART = "core"
SETUP_COMPONENT = "setup"


def log_prefix(module: str) -> str:
    """``roomdb/<part>/<component>`` for a module of the package (``__name__``)."""
    if module != PACKAGE and not module.startswith(f"{PACKAGE}."):
        raise ValueError(f"{module} is not a RoomDB module")
    parts = module.removeprefix(PACKAGE).strip(".").split(".") if module != PACKAGE else []
    if not parts:
        parts = [CORE_PART, SETUP_COMPONENT]
    elif len(parts) == 1:
        parts = [CORE_PART, parts[0]]
    return "/".join(("roomdb", *parts))


class _PartPrefix(logging.Filter):
    """Puts the part in front of each record's message; arguments stay lazy."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = f"{self.prefix}: {record.msg}"
        return True


def get_logger(module: str) -> logging.Logger:
    """The logger for a RoomDB module: call as ``get_logger(__name__)``.

    A plain :class:`logging.Logger` (Home Assistant's helpers that take one, such as the
    coordinator, log through it with the prefix too); a logger's filters run once per record it
    creates, so each line is prefixed exactly once.
    """
    logger = logging.getLogger(module)
    if not any(isinstance(item, _PartPrefix) for item in logger.filters):
        logger.addFilter(_PartPrefix(log_prefix(module)))
    return logger
