"""The wire logger hides frame payloads when model data may not be logged."""

from __future__ import annotations

import logging

import pytest
from realtime_transport_websocket.socket import wire_log_for, wire_logger
from websockets.frames import Frame, Opcode


def test_frame_content_hidden(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=wire_logger.name)
    frame = Frame(Opcode.TEXT, b'{"transcript": "PINEAPPLE-42"}')
    wire_log_for(True).debug("< %s", frame)
    wire_log_for(False).debug("> %s", frame)
    hidden, shown = (r.getMessage() for r in caplog.records)
    assert hidden == "< TEXT [30 bytes, content hidden]"
    assert "PINEAPPLE-42" in shown
    assert wire_log_for(False) is wire_logger
