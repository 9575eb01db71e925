"""Codes shared by the physics and the rest of gridtwin: storage modes and weekday masks.

One source: the device models, the live-state codecs and the physics import these.
"""

EV_MODE_IDLE = 0
EV_MODE_CHARGING = 1
EV_MODE_DISCHARGING = 2
EV_MODE_OFFLINE = 3
EV_MODE_NAMES: tuple[str, ...] = ("idle", "charging", "discharging", "offline")
"""Storage (battery and vehicle) mode names indexed by mode code."""

WEEKDAYS_MASK = 0b0011111
"""Monday to Friday: bit 0 is Monday … bit 6 is Sunday (``datetime.weekday()``)."""
ALL_DAYS_MASK = 0b1111111
