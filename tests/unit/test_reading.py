"""fides.flows.reading.read, alone: lines in, chunks of ready-made rows and findings out (no
database, no file: the helper process and the applying side run this same function)."""

from __future__ import annotations

from fides.bench import synthetic
from fides.flows import dossier_lines, reading
from fides.flows.base import FindingSink

FILE_ID = 42


def _read(texts: list[str], chunk_lines: int = 10, kind: str = "VIDHOSP", plain: bool = False):
    chunks: list[list] = []
    sink = FindingSink(keep=100)
    count = reading.read([(1, texts, plain)], dossier_lines.PARTS[kind], FILE_ID, synthetic.FINESS, None, None,
                         sink, chunks.append, chunk_lines)
    return count, chunks, sink


def test_good_lines_come_in_chunks_a_small_first_one_then_full_ones():
    texts = [synthetic.vidhosp_line(i) for i in range(25)]
    count, chunks, sink = _read(texts)
    assert count == 25 and sink.total == 0
    assert [len(c) for c in chunks] == [1, 10, 10, 4]  # a tenth first: the applying side starts early
    line_no, nda, subtype, row, entry, exit_ = chunks[1][0]
    assert (line_no, nda, subtype) == (2, "L000000001", "complet")
    # the dossier_line row but its dossier id in front and `current` at the end (sql.COPY_LINES)
    assert row == f"\tVIDHOSP\tcomplet\tvidhosp_V015\t2\t{texts[1]}\t{FILE_ID}\t2\t"
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


def test_a_backslash_in_a_line_is_escaped_for_copy_unless_the_block_is_plain():
    line = synthetic.vidhosp_line(1)
    at = 139  # num_admin_sejour_mere (free text, positions 140-159), before the stay's dates
    texts = [line[:at] + "a\\b" + line[at + 3:]]
    _, chunks, sink = _read(texts)  # as read_blocks gives a block with a backslash: not plain
    assert sink.total == 0
    _, _, _, row, entry, exit_ = chunks[0][0]
    assert row.split("\t")[5] == texts[0].replace("\\", "\\\\")  # COPY reads \\ as \
    _, plain_chunks, _ = _read([line], plain=True)  # nothing to escape: the line goes in as it is
    assert plain_chunks[0][0][3].split("\t")[5] == line
    assert (entry, exit_) == plain_chunks[0][0][4:] and entry is not None  # read from the line, not the row


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
