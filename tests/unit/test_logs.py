"""JSON logs: one parseable object per line, exception class only (never its message)."""

import json
import logging

from fides.logs import JsonFormatter


def test_json_line():
    record = logging.LogRecord("fides.engine", logging.WARNING, __file__, 1, "file %s refused", ("X.txt",), None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "WARNING" and entry["logger"] == "fides.engine"
    assert entry["message"] == "file X.txt refused" and entry["ts"].endswith("+00:00")


def test_exception_message_not_logged():
    try:
        raise ValueError("1850578006084 91")  # a message that could quote data
    except ValueError:
        import sys
        record = logging.LogRecord("fides", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = JsonFormatter().format(record)
    assert "1850578006084" not in line and json.loads(line)["exception"] == "ValueError"
