"""fides.flows.reading.read, alone: lines in, chunks of ready-made rows and findings out (no
database, no file: the helper process and the applying side run this same function)."""

from __future__ import annotations

from fides.bench import synthetic
from fides.flows import dossier_lines, reading
from fides.flows.base import FindingSink

def _read(texts: list[str], chunk_lines: int = 10, kind: str = "VIDHOSP", plain: bool = False):
    chunks: list[list] = []
    sink = FindingSink(keep=100)
    count = reading.read([(1, texts, plain)], dossier_lines.PARTS[kind], synthetic.FINESS, None, None,
                         sink, chunks.append, chunk_lines, "utf-8")
    return count, chunks, sink


def _fields(row: bytes) -> list[bytes]:
    """The fields of a row in binary COPY format, each after its 4-byte length."""
    fields, at = [], 0
    while at < len(row):
        length = int.from_bytes(row[at:at + 4], "big")
        fields.append(row[at + 4:at + 4 + length])
        at += 4 + length
    assert at == len(row)
    return fields


def test_good_lines_come_in_chunks_a_small_first_one_then_full_ones():
    texts = [synthetic.vidhosp_line(i) for i in range(25)]
    count, chunks, sink = _read(texts)
    assert count == 25 and sink.total == 0
    assert [len(c) for c in chunks] == [1, 10, 10, 4]  # a tenth first: the applying side starts early
    line_no, nda, subtype, row, entry, exit_ = chunks[1][0]
    assert (line_no, nda, subtype) == (2, "L000000001", "complet")
    # what the line alone gives of its dossier_line row (sql.COPY_LINES, binary): kind, subtype,
    # layout, line; the applying side adds the dossier's id, the line's number, the file's id
    assert _fields(row) == [b"VIDHOSP", b"complet", b"vidhosp_V015", texts[1].encode()]
    assert entry < exit_ and len(entry) == 10  # ISO dates, the stay's


def test_a_blocking_error_stops_the_chunks_but_every_line_is_checked():
    texts = [synthetic.vidhosp_line(i) for i in range(30)]
    texts[12] = texts[12][:100]  # truncated
    texts[20] = texts[20][:100]
    count, chunks, sink = _read(texts)
    assert count == 30
    assert [f.line_no for f in sink.kept] == [13, 21] and sink.blocking == 2
    assert [len(c) for c in chunks] == [1, 10]  # line 12 waited in a chunk never handed over


def test_a_line_of_another_finess_is_refused_with_its_code():
    texts = [synthetic.vidhosp_line(i) for i in range(3)]
    at = texts[1].index(synthetic.FINESS)
    texts[1] = texts[1][:at] + "990000028" + texts[1][at + 9:]  # a valid FINESS, not this establishment's
    _, chunks, sink = _read(texts)
    assert [(f.code, f.line_no) for f in sink.kept] == [("FMT013", 2)]
    assert all(line[0] != 2 for chunk in chunks for line in chunk)


def test_a_line_goes_into_its_row_as_it_is_in_the_connection_s_encoding():
    line = synthetic.vidhosp_line(1)
    at = 139  # num_admin_sejour_mere (free text, positions 140-159), before the stay's dates
    texts = [line[:at] + "a\\bé" + line[at + 4:]]  # binary COPY: nothing to escape
    _, chunks, sink = _read(texts)
    assert sink.total == 0
    _, _, _, row, entry, exit_ = chunks[0][0]
    assert _fields(row)[3] == texts[0].encode("utf-8")
    chunks = []
    reading.read([(1, texts, False)], dossier_lines.PARTS["VIDHOSP"], synthetic.FINESS, None, None,
                 FindingSink(keep=1), chunks.append, 10, "latin-1")
    assert _fields(chunks[0][0][3])[3] == texts[0].encode("latin-1")  # é: one byte, not two
    assert entry is not None and exit_ > entry  # read from the line, not the row


def test_a_large_file_is_cut_in_few_chunks_from_its_first_block():
    line = synthetic.vidhosp_line(1)
    block = (1, [line] * 100, True)
    per_line = len(line) + 2  # CRLF
    size = per_line * 1_000_000
    lines = reading.chunk_lines_for(size, block, 10_000, 16 << 20, 40)
    assert 25_000 <= lines <= 25_000 * 1.01  # a million lines in 40 chunks (the estimate counts LF only)
    assert -(-1_000_000 // lines) <= 40 < dossier_lines._SAVEPOINTS_MAX  # each chunk may create in a savepoint
    assert reading.chunk_lines_for(per_line * 100_000, block, 10_000, 16 << 20, 40) == 10_000  # never fewer
    most = reading.chunk_lines_for(per_line * 5_000_000, block, 10_000, 16 << 20, 40)  # memory first:
    assert most == (16 << 20) // (len(line) + 1)  # a chunk holds 16 MiB of lines at most
    assert reading.chunk_lines_for(size, None, 10_000, 16 << 20, 40) == 10_000  # an empty file
    short = (1, ["x" * 99] * 100, True)  # shorter lines: more of them in the same bytes, and in a chunk
    assert reading.chunk_lines_for(100 * 1_000_000, short, 1, 10**9, 40) == 25_000
    assert reading.chunk_lines_for(100 * 10_000_000, short, 1, 16 << 20, 40) == (16 << 20) // 100
    assert reading.FILE_CHUNKS < dossier_lines._SAVEPOINTS_MAX
