"""Modbus-RTU driver for the Peacefair PZEM-004T v3.0 energy monitor.

Frames per the PZEM-004T V3.0 user manual: 9600 8N1, function 0x04 reads the ten input
registers (voltage, current, power, energy, frequency, power factor, alarm), 0x06 writes a
holding register (alarm threshold, slave address), 0x42 resets the energy counter. Every
frame ends with the CRC-16/MODBUS of the bytes before it, low byte first.

The driver only needs an object with ``write(bytes)`` and ``read(n) -> bytes | None``:
``machine.UART`` on the board, :class:`firmware.platform.FakeUART` or the emulator's
virtual meter on CPython.
"""

from firmware import platform

try:
    from typing import Any
except ImportError:
    pass

GENERAL_ADDRESS = 0xF8  # answers whatever its own address is; one meter per bus only
MIN_ADDRESS = 0x01
MAX_ADDRESS = 0xF7

FN_READ_HOLDING = 0x03
FN_READ_INPUT = 0x04
FN_WRITE_SINGLE = 0x06
FN_CALIBRATE = 0x41
FN_RESET_ENERGY = 0x42

REG_ALARM_THRESHOLD = 0x0001  # holding register, 1 LSB = 1 W
REG_SLAVE_ADDRESS = 0x0002  # holding register, 0x0001..0x00F7

INPUT_REGISTER_COUNT = 10
READ_RESPONSE_LEN = 3 + 2 * INPUT_REGISTER_COUNT + 2  # 25 bytes
EXCEPTION_RESPONSE_LEN = 5

MODBUS_EXCEPTIONS = {
    0x01: "illegal function",
    0x02: "illegal address",
    0x03: "illegal data",
    0x04: "slave error",
}


class PzemError(Exception):
    """Anything that went wrong talking to the meter."""


class ShortFrameError(PzemError):
    """Fewer bytes arrived than the frame needs."""


class NoResponseError(ShortFrameError):
    """Nothing at all arrived before the timeout (wiring, power, baud rate)."""


class CrcError(PzemError):
    """The CRC at the end of the frame does not match its contents."""


class AddressError(PzemError):
    """The reply came from another slave address than the one asked."""


class FunctionError(PzemError):
    """The reply carries an unexpected function code or byte count."""


class ModbusExceptionError(PzemError):
    """The meter answered with a Modbus exception (function | 0x80, code)."""

    def __init__(self, function: int, code: int) -> None:
        self.function = function
        self.code = code
        reason = MODBUS_EXCEPTIONS.get(code, "unknown")
        super().__init__(
            "modbus exception 0x%02x for function 0x%02x: %s" % (code, function, reason)
        )


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS: reflected polynomial 0xA001, initial value 0xFFFF, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            if crc & 1:
                crc = (crc >> 1) ^ 0xA001
            else:
                crc >>= 1
    return crc


def with_crc(body: bytes) -> bytes:
    """``body`` followed by its CRC, low byte first."""
    crc = crc16_modbus(body)
    return bytes(body) + bytes([crc & 0xFF, crc >> 8])


def check_crc(frame: bytes) -> bool:
    """True when the last two bytes are the CRC of the rest."""
    if len(frame) < 3:
        return False
    crc = crc16_modbus(frame[:-2])
    return frame[-2] == (crc & 0xFF) and frame[-1] == (crc >> 8)


def _hex(data: bytes) -> str:
    return " ".join("%02x" % b for b in data)


# ---------------------------------------------------------------------------------------------
# Request builders and response parsers (pure; the emulator and the tests use them too)
# ---------------------------------------------------------------------------------------------


def build_read_request(
    address: int, start: int = 0x0000, count: int = INPUT_REGISTER_COUNT
) -> bytes:
    """Read-input-registers request (function 0x04)."""
    return with_crc(
        bytes([address, FN_READ_INPUT, start >> 8, start & 0xFF, count >> 8, count & 0xFF])
    )


def build_write_request(address: int, register: int, value: int) -> bytes:
    """Write-single-register request (function 0x06)."""
    return with_crc(
        bytes([address, FN_WRITE_SINGLE, register >> 8, register & 0xFF, value >> 8, value & 0xFF])
    )


def build_reset_energy_request(address: int) -> bytes:
    """Energy-reset request (function 0x42): ``[addr, 0x42, crc_lo, crc_hi]``."""
    return with_crc(bytes([address, FN_RESET_ENERGY]))


def _check_frame(frame: bytes, address: int, function: int, min_len: int) -> None:
    """Raise the most specific error for a reply that is not a good ``function`` reply."""
    if len(frame) == 0:
        raise NoResponseError("no response from meter at 0x%02x" % address)
    if len(frame) < EXCEPTION_RESPONSE_LEN - 1:
        raise ShortFrameError("short frame (%d bytes): %s" % (len(frame), _hex(frame)))
    is_exception = frame[1] == (function | 0x80)
    if is_exception and len(frame) < EXCEPTION_RESPONSE_LEN:
        raise ShortFrameError("short exception frame: %s" % _hex(frame))
    if not is_exception and len(frame) < min_len:
        raise ShortFrameError(
            "short frame (%d of %d bytes): %s" % (len(frame), min_len, _hex(frame))
        )
    used = frame[:EXCEPTION_RESPONSE_LEN] if is_exception else frame[:min_len]
    if not check_crc(used):
        raise CrcError("bad CRC: %s" % _hex(used))
    if address != GENERAL_ADDRESS and frame[0] != address:
        raise AddressError("reply from 0x%02x, expected 0x%02x" % (frame[0], address))
    if is_exception:
        raise ModbusExceptionError(function, frame[2])
    if frame[1] != function:
        raise FunctionError("function 0x%02x in reply, expected 0x%02x" % (frame[1], function))


def decode_registers(registers: list[int]) -> dict:
    """Scale the ten input registers into physical units.

    Keys: ``voltage`` [V], ``current`` [A], ``power`` [W], ``energy`` [Wh], ``frequency``
    [Hz], ``power_factor`` [-], ``alarm`` (bool).
    """
    r = registers
    return {
        "voltage": round(r[0] * 0.1, 1),
        "current": round((r[1] | (r[2] << 16)) * 0.001, 3),
        "power": round((r[3] | (r[4] << 16)) * 0.1, 1),
        "energy": r[5] | (r[6] << 16),
        "frequency": round(r[7] * 0.1, 1),
        "power_factor": round(r[8] * 0.01, 2),
        "alarm": r[9] == 0xFFFF,
    }


def encode_registers(
    voltage: float,
    current: float,
    power: float,
    energy: float,
    frequency: float,
    power_factor: float,
    alarm: bool = False,
) -> list[int]:
    """Inverse of :func:`decode_registers` (the emulator's meter side)."""
    current_raw = round(current * 1000) & 0xFFFFFFFF
    power_raw = round(power * 10) & 0xFFFFFFFF
    energy_raw = int(energy) & 0xFFFFFFFF
    return [
        round(voltage * 10) & 0xFFFF,
        current_raw & 0xFFFF,
        current_raw >> 16,
        power_raw & 0xFFFF,
        power_raw >> 16,
        energy_raw & 0xFFFF,
        energy_raw >> 16,
        round(frequency * 10) & 0xFFFF,
        round(power_factor * 100) & 0xFFFF,
        0xFFFF if alarm else 0x0000,
    ]


def build_read_response(address: int, registers: list[int]) -> bytes:
    """Reply to a 0x04 read: address, 0x04, byte count, big-endian registers, CRC."""
    body = bytearray([address, FN_READ_INPUT, 2 * len(registers)])
    for reg in registers:
        body.append((reg >> 8) & 0xFF)
        body.append(reg & 0xFF)
    return with_crc(bytes(body))


def build_exception_response(address: int, function: int, code: int) -> bytes:
    """Modbus exception reply: ``[addr, function | 0x80, code, crc_lo, crc_hi]``."""
    return with_crc(bytes([address, function | 0x80, code]))


def parse_read_response(frame: bytes, address: int = GENERAL_ADDRESS) -> dict:
    """Decode a 25-byte read-input-registers reply; raises a :class:`PzemError` subclass."""
    _check_frame(frame, address, FN_READ_INPUT, READ_RESPONSE_LEN)
    if frame[2] != 2 * INPUT_REGISTER_COUNT:
        raise FunctionError(
            "byte count %d in reply, expected %d" % (frame[2], 2 * INPUT_REGISTER_COUNT)
        )
    registers = []
    for i in range(INPUT_REGISTER_COUNT):
        registers.append((frame[3 + 2 * i] << 8) | frame[4 + 2 * i])
    return decode_registers(registers)


def parse_reset_energy_response(frame: bytes, address: int = GENERAL_ADDRESS) -> None:
    """Check the echo of an energy-reset request; raises a :class:`PzemError` subclass."""
    _check_frame(frame, address, FN_RESET_ENERGY, 4)


def parse_write_response(frame: bytes, address: int, register: int, value: int) -> None:
    """Check the echo of a write-single-register request."""
    _check_frame(frame, address, FN_WRITE_SINGLE, 8)
    echoed = ((frame[2] << 8) | frame[3], (frame[4] << 8) | frame[5])
    if echoed != (register, value):
        raise FunctionError("write echo %r, expected %r" % (echoed, (register, value)))


# ---------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------


class PZEM:
    """One PZEM-004T v3.0 on a UART (9600 8N1).

    ``address`` is 0xF8 (the general address, for a single meter on the bus) or the meter's
    own 0x01..0xF7.
    """

    def __init__(self, uart: Any, address: int = GENERAL_ADDRESS, timeout_ms: int = 500) -> None:
        if not (MIN_ADDRESS <= address <= MAX_ADDRESS or address == GENERAL_ADDRESS):
            raise ValueError("PZEM address must be 0x01..0xF7 or 0xF8, got %r" % (address,))
        self.uart = uart
        self.address = address
        self.timeout_ms = timeout_ms

    def _drain(self) -> None:
        # Stale bytes from an earlier, timed-out exchange would shift this frame.
        any_fn = getattr(self.uart, "any", None)
        for _ in range(8):
            if any_fn is not None and not any_fn():
                return
            if not self.uart.read(64):
                return

    def _exchange(self, request: bytes, expected_len: int) -> bytes:
        """Send ``request`` and collect up to ``expected_len`` reply bytes (5 for exceptions)."""
        self._drain()
        self.uart.write(request)
        buf = b""
        deadline = platform.monotonic_s() + self.timeout_ms / 1000.0
        while True:
            need = expected_len
            if len(buf) >= 2 and buf[1] & 0x80:
                need = EXCEPTION_RESPONSE_LEN
            if len(buf) >= need:
                return buf[:need]
            chunk = self.uart.read(need - len(buf))
            if chunk:
                buf += bytes(chunk)
            elif platform.monotonic_s() >= deadline:
                return buf
            else:
                platform.sleep_ms(5)

    def read(self) -> dict:
        """Read all measurements; see :func:`decode_registers` for the keys and units."""
        frame = self._exchange(build_read_request(self.address), READ_RESPONSE_LEN)
        return parse_read_response(frame, self.address)

    def reset_energy(self) -> None:
        """Zero the meter's energy counter."""
        frame = self._exchange(build_reset_energy_request(self.address), 4)
        parse_reset_energy_response(frame, self.address)

    def write_register(self, register: int, value: int) -> None:
        """Write one holding register (function 0x06) and check the echo."""
        if not 0 <= value <= 0xFFFF:
            raise ValueError("register value out of range: %r" % (value,))
        frame = self._exchange(build_write_request(self.address, register, value), 8)
        parse_write_response(frame, self.address, register, value)

    def set_power_alarm_threshold(self, watts: int) -> None:
        """Power above ``watts`` [W] raises the alarm register."""
        self.write_register(REG_ALARM_THRESHOLD, int(watts))

    def set_address(self, new_address: int) -> None:
        """Give the meter a new slave address (0x01..0xF7) and talk to it there from now on."""
        if not MIN_ADDRESS <= new_address <= MAX_ADDRESS:
            raise ValueError("new address must be 0x01..0xF7, got %r" % (new_address,))
        self.write_register(REG_SLAVE_ADDRESS, new_address)
        self.address = new_address
