"""Home Assistant's feature flag for each arm mode.

What RoomDB's panel offers, and what a sync target must support before RoomDB sends it that mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce
from operator import or_
from types import MappingProxyType
from typing import Final

from homeassistant.components.alarm_control_panel.const import AlarmControlPanelEntityFeature

from .machine import ARM_MODES, AlarmState

MODE_FEATURES: Final[Mapping[AlarmState, AlarmControlPanelEntityFeature]] = MappingProxyType(
    {
        AlarmState.ARMED_AWAY: AlarmControlPanelEntityFeature.ARM_AWAY,
        AlarmState.ARMED_HOME: AlarmControlPanelEntityFeature.ARM_HOME,
        AlarmState.ARMED_NIGHT: AlarmControlPanelEntityFeature.ARM_NIGHT,
        AlarmState.ARMED_VACATION: AlarmControlPanelEntityFeature.ARM_VACATION,
        AlarmState.ARMED_CUSTOM_BYPASS: AlarmControlPanelEntityFeature.ARM_CUSTOM_BYPASS,
    }
)

PANEL_FEATURES: Final[AlarmControlPanelEntityFeature] = reduce(
    or_, (MODE_FEATURES[mode] for mode in ARM_MODES), AlarmControlPanelEntityFeature.TRIGGER
)
"""RoomDB's panel: every arm mode, and a trigger (a panic button)."""
