"""engine.process.read_blocks on real files: the same lines, numbers and terminators whatever
the block boundaries, and a block is `plain` exactly when each of its lines is printable (the line
check then skips its own str.isprintable)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fides.engine import process


def _blocks(tmp_path, data: bytes) -> list:
    path = tmp_path / "f.txt"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        return list(process.read_blocks(fd))
    finally:
        os.close(fd)


def _expected(data: bytes) -> list[str]:
    """Lines as the reader must give them: split on LF, one CR before it dropped, no empty last."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [(line[:-1] if line.endswith(b"\r") else line).decode("latin-1") for line in lines]


def test_the_plain_table_is_str_isprintable_byte_by_byte():
    assert [b in process._PLAIN for b in range(256)] == [chr(b).isprintable() for b in range(256)]
    assert 0xA0 not in process._PLAIN and 0xAD not in process._PLAIN and 0xE9 in process._PLAIN


@pytest.mark.parametrize("data, plain", [
    (b"abc\r\ndef\r\n", True),            # CRLF everywhere
    (b"abc\ndef\nlast", True),            # LF, a last line without terminator
    (b"abc\r\ndef\nlast\r", True),        # mixed; a CR before the end of the file ends the line
    (b"caf\xe9\r\n\r\n", True),           # latin-1 letters, an empty line
    (b"a\x1ab\r\n", False),               # a control character
    (b"a\xa0b\r\n", False),               # NBSP
    (b"a\xadb\r\n", False),               # soft hyphen
    (b"a\rb\r\n", False),                 # a CR inside a line
    (b"a\tb\r\n", False),                # a tab (a control character for str.isprintable)
    (b"a\\b\r\n", True),                 # a backslash: binary COPY stores it as it is
])
def test_lines_and_plainness(tmp_path, data, plain):
    blocks = _blocks(tmp_path, data)
    assert [line for _, lines, _ in blocks for line in lines] == _expected(data)
    assert {p for _, _, p in blocks} == {plain}  # (a last line without terminator: a block of its own)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"A", b"9", b" ", b"\xe9", b"\n", b"\r\n", b"\r", b"\x1a", b"\xa0", b"\\"]),
                max_size=60),
       st.integers(1, 9))
def test_any_content_any_block_size(tmp_path_factory, parts, chunk):
    data = b"".join(parts)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(process, "CHUNK", chunk)  # lines across reads, blocks of a few lines
        blocks = _blocks(tmp_path_factory.mktemp("b"), data)
    numbered = [(n, line) for first, lines, _ in blocks for n, line in enumerate(lines, first)]
    assert numbered == (list(enumerate(_expected(data), 1)) if data else [])
    for _, lines, plain in blocks:
        assert plain == all(line.isprintable() for line in lines)


def test_a_line_too_long_is_refused_with_its_number(tmp_path, monkeypatch):
    monkeypatch.setattr(process, "CHUNK", 8)
    monkeypatch.setattr(process, "MAX_LINE_BYTES", 20)
    with pytest.raises(process._LineTooLong) as raised:
        _blocks(tmp_path, b"short\r\n" + b"x" * 40 + b"\r\n")
    assert raised.value.line_no == 2
