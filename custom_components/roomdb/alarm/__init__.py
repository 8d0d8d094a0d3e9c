"""RoomDB's alarm: a pure state machine, conflict rules and state mapping, plus the HA sync glue.

Table of contents (the layout every part follows):

runtime       ``runtime``: build, start and stop the controller and its sync; ``controller``: the
              panel inside HA (clock, timer, sensors, persistence, events); ``sync``: two-way
              sync with a target ``alarm_control_panel``
store / db    kept in HA's Store by ``controller`` and ``sync`` (keys in ``const``)
sensors       ``sensors``: the alarm sync diagnostic sensor
services      ``services``: ``alarm_arm``
options       ``options`` (the forms), ``settings`` (reading them), ``const`` (keys, defaults)
pure core     ``machine`` (the state machine), ``security`` (machine plus sensors, bypass,
              lockout), ``sensor_rules`` (which sensor guards which mode), ``conflict`` (sync
              conflict rules), ``state_mapping`` (states to and from the target)
HA glue       ``notify`` (bus events, log, notifications), ``push_error`` (why a target call
              failed), ``features`` (HA's feature flag for each arm mode)
"""
