"""Device-side firmware for a gridtwin energy meter (ESP8266/ESP32 + PZEM-004T v3.0).

Runs on MicroPython on the board and on CPython as virtual devices (``python -m
firmware.emulate``). Only :mod:`firmware.platform` knows which of the two it is on.
"""

__version__ = "0.1.0"
