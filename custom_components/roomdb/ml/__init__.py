"""RoomDB's ML core: features, sleep labels, pairing, CLR, BOCPD and metrics.

Plain Python and numpy only (no Home Assistant imports), so every module can be tested directly and
run in an executor. Time axes are UTC epoch seconds throughout.
"""
