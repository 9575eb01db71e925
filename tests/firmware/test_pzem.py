"""The PZEM-004T v3.0 driver against byte frames (Modbus-RTU, CRC-16/MODBUS)."""

import pytest

from firmware import pzem
from firmware.platform import FakeUART

# 230.1 V, 70.196 A, 2213.6 W, 170684 Wh, 50.0 Hz, PF 0.95, alarm off; address 0x01.
GOOD = bytes.fromhex(
    "01 04 14 08fd 1234 0001 5678 0000 9abc 0002 01f4 005f 0000 08a1".replace(" ", "")
)
GOOD_VALUES = {
    "voltage": 230.1,
    "current": 70.196,
    "power": 2213.6,
    "energy": 170684,
    "frequency": 50.0,
    "power_factor": 0.95,
    "alarm": False,
}


def _crc_reference(data: bytes) -> int:
    """Table-driven CRC-16/MODBUS, written independently of the driver's bitwise one."""
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        table.append(c)
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc


@pytest.mark.parametrize(
    ("body", "crc_bytes"),
    [
        ("01 04 00 00 00 0a", "70 0d"),  # PZEM read request (datasheet)
        ("01 03 00 00 00 01", "84 0a"),  # classic Modbus example
        ("01 42", "80 11"),  # PZEM energy reset, address 1
        ("f8 42", "c2 41"),  # PZEM energy reset, general address
    ],
)
def test_crc_known_vectors(body: str, crc_bytes: str) -> None:
    frame = pzem.with_crc(bytes.fromhex(body.replace(" ", "")))
    assert frame[-2:] == bytes.fromhex(crc_bytes.replace(" ", ""))
    assert pzem.check_crc(frame)


def test_crc_check_value_and_reference() -> None:
    assert pzem.crc16_modbus(b"123456789") == 0x4B37  # the catalogued check value
    for data in (b"", b"\x00", bytes(range(256)), GOOD[:-2]):
        assert pzem.crc16_modbus(data) == _crc_reference(data)


def test_read_request_frame() -> None:
    assert pzem.build_read_request(0x01) == bytes.fromhex("01040000000a700d")
    assert pzem.build_read_request(0xF8)[:6] == bytes.fromhex("f8040000000a")


def test_good_frame_decodes_to_known_values() -> None:
    assert pzem.parse_read_response(GOOD, 0x01) == GOOD_VALUES
    assert pzem.parse_read_response(GOOD, pzem.GENERAL_ADDRESS) == GOOD_VALUES


def test_alarm_register_on() -> None:
    regs = pzem.encode_registers(230.0, 1.0, 230.0, 5.0, 50.0, 1.0, alarm=True)
    assert regs[9] == 0xFFFF
    assert pzem.parse_read_response(pzem.build_read_response(0x01, regs))["alarm"] is True


def test_encode_decode_round_trip() -> None:
    regs = pzem.encode_registers(229.9, 12.345, 2800.5, 123456789, 49.9, 0.87)
    frame = pzem.build_read_response(0x07, regs)
    assert len(frame) == pzem.READ_RESPONSE_LEN == 25
    assert pzem.parse_read_response(frame, 0x07) == {
        "voltage": 229.9,
        "current": 12.345,
        "power": 2800.5,
        "energy": 123456789,
        "frequency": 49.9,
        "power_factor": 0.87,
        "alarm": False,
    }


def test_crc_error() -> None:
    bad = bytearray(GOOD)
    bad[5] ^= 0x01
    with pytest.raises(pzem.CrcError):
        pzem.parse_read_response(bytes(bad), 0x01)
    with pytest.raises(pzem.CrcError):
        pzem.parse_read_response(GOOD[:-1] + bytes([GOOD[-1] ^ 0xFF]), 0x01)


@pytest.mark.parametrize("length", [1, 3, 10, 24])
def test_short_frame(length: int) -> None:
    with pytest.raises(pzem.ShortFrameError):
        pzem.parse_read_response(GOOD[:length], 0x01)


def test_no_response_is_a_short_frame() -> None:
    with pytest.raises(pzem.NoResponseError):
        pzem.parse_read_response(b"", 0x01)
    assert issubclass(pzem.NoResponseError, pzem.ShortFrameError)


def test_wrong_address() -> None:
    with pytest.raises(pzem.AddressError):
        pzem.parse_read_response(GOOD, 0x02)


def test_wrong_function() -> None:
    frame = pzem.with_crc(bytes([0x01, 0x03]) + GOOD[2:-2])
    with pytest.raises(pzem.FunctionError):
        pzem.parse_read_response(frame, 0x01)


def test_wrong_byte_count() -> None:
    frame = pzem.with_crc(bytes([0x01, 0x04, 0x12]) + GOOD[3:-2])
    with pytest.raises(pzem.FunctionError):
        pzem.parse_read_response(frame, 0x01)


def test_modbus_exception_reply() -> None:
    frame = bytes.fromhex("018402c2c1")
    assert frame == pzem.build_exception_response(0x01, 0x04, 0x02)
    with pytest.raises(pzem.ModbusExceptionError) as info:
        pzem.parse_read_response(frame, 0x01)
    assert (info.value.function, info.value.code) == (0x04, 0x02)
    assert "illegal address" in str(info.value)


def test_all_errors_are_pzem_errors() -> None:
    for cls in (
        pzem.CrcError,
        pzem.ShortFrameError,
        pzem.AddressError,
        pzem.FunctionError,
        pzem.ModbusExceptionError,
    ):
        assert issubclass(cls, pzem.PzemError)


def test_energy_reset_frames() -> None:
    assert pzem.build_reset_energy_request(0x01) == bytes.fromhex("01428011")
    assert pzem.build_reset_energy_request(0xF8) == bytes.fromhex("f842c241")
    pzem.parse_reset_energy_response(bytes.fromhex("01428011"), 0x01)
    with pytest.raises(pzem.ModbusExceptionError) as info:
        pzem.parse_reset_energy_response(pzem.build_exception_response(0x01, 0x42, 0x04), 0x01)
    assert info.value.function == 0x42 and info.value.code == 0x04
    assert pzem.build_exception_response(0x01, 0x42, 0x04)[1] == 0xC2


# --- the driver over a UART ------------------------------------------------------------------


def test_driver_reads_through_uart() -> None:
    uart = FakeUART(lambda frame: GOOD)
    meter = pzem.PZEM(uart, address=0x01)
    assert meter.read() == GOOD_VALUES
    assert uart.written == [bytes.fromhex("01040000000a700d")]


def test_driver_reads_split_and_drains_stale_bytes() -> None:
    class Trickle(FakeUART):
        def read(self, n: int = -1) -> bytes | None:
            return super().read(min(n, 3) if n and n > 0 else n)

    uart = Trickle(lambda frame: GOOD)
    uart.feed(b"\x00\x13garbage")  # left over from an earlier, timed-out exchange
    assert pzem.PZEM(uart, address=0x01).read() == GOOD_VALUES


def test_driver_exception_reply_is_read_as_five_bytes() -> None:
    uart = FakeUART(lambda frame: pzem.build_exception_response(0x01, 0x04, 0x01))
    with pytest.raises(pzem.ModbusExceptionError):
        pzem.PZEM(uart, address=0x01, timeout_ms=50).read()


def test_driver_times_out_without_reply() -> None:
    with pytest.raises(pzem.NoResponseError):
        pzem.PZEM(FakeUART(), address=0x01, timeout_ms=30).read()


def test_driver_reset_energy_and_write_register() -> None:
    uart = FakeUART(lambda frame: frame)  # the meter echoes resets and writes
    meter = pzem.PZEM(uart, address=0x01)
    meter.reset_energy()
    meter.set_power_alarm_threshold(2300)
    meter.set_address(0x05)
    assert meter.address == 0x05
    assert uart.written[0] == bytes.fromhex("01428011")
    assert uart.written[1][:6] == bytes.fromhex("0106000108fc")
    assert uart.written[2][:6] == bytes.fromhex("010600020005")


def test_driver_rejects_bad_addresses() -> None:
    with pytest.raises(ValueError):
        pzem.PZEM(FakeUART(), address=0)
    with pytest.raises(ValueError):
        pzem.PZEM(FakeUART(), address=0x01).set_address(0xF8)
