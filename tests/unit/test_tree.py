"""The buffer tree on real files: the archive month in the establishment's local time, temporary
names unique across hosts sharing one root, and the sweep of temporary files left by dead writers."""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import time
from pathlib import Path

import pytest

from fides.engine import tree as tree_module
from fides.engine.tree import NAME_MAX, TEMP_MAX_AGE, TEMP_PREFIX, Tree, temp_path

UTC = dt.timezone.utc


@pytest.fixture
def paris():
    """The process's local time zone set to Europe/Paris for the test (restored after)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Paris"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


# --- archive month ----------------------------------------------------------------------------

def test_archive_month_is_the_local_month(tmp_path, paris):
    tree = Tree(tmp_path)
    # 00:30 on 1 April in Paris (UTC+2) is still 31 March in UTC
    assert tree.archive(dt.datetime(2025, 3, 31, 22, 30, tzinfo=UTC)) == tmp_path / "archive" / "2025" / "04"
    # 00:30 on 1 January in Paris (UTC+1): the year changes too
    assert tree.archive(dt.datetime(2024, 12, 31, 23, 30, tzinfo=UTC)) == tmp_path / "archive" / "2025" / "01"
    # 23:30 on 31 March in Paris is March, whatever the zone the time is given in
    assert tree.archive(dt.datetime(2025, 3, 31, 21, 30, tzinfo=UTC)) == tmp_path / "archive" / "2025" / "03"
    # a naive time is already local
    assert tree.archive(dt.datetime(2025, 4, 1, 0, 30)) == tmp_path / "archive" / "2025" / "04"


def test_an_input_moved_at_half_past_midnight_lands_in_the_new_month(tmp_path, paris):
    tree = Tree(tmp_path)
    tree.create()
    (tree.inbox / "VIDHOSP_990000010_20250401003000_0001.txt").write_bytes(b"x\r\n")
    now = dt.datetime(2025, 3, 31, 22, 30, tzinfo=UTC)  # what the engine passes: aware, UTC
    moved = tree.move_into(tree.inbox / "VIDHOSP_990000010_20250401003000_0001.txt", tree.archive(now))
    assert moved.relative_to(tmp_path).parts[:3] == ("archive", "2025", "04")
    assert not (tmp_path / "archive" / "2025" / "03").exists()


# --- temporary names --------------------------------------------------------------------------

def test_temporary_name_carries_host_process_and_thread(tmp_path):
    name = temp_path(tmp_path / "out" / "X.txt.arl").name
    assert name.startswith(f"{TEMP_PREFIX}{tree_module._host()}-{os.getpid()}-") and name.endswith("-X.txt.arl")
    if re.fullmatch(r"[A-Za-z0-9.-]{1,64}", socket.gethostname()):
        assert tree_module._host() == socket.gethostname()


def test_two_hosts_with_the_same_pid_get_different_names(tmp_path, monkeypatch):
    names = set()
    for host in ("gap-01.chu.local", "gap-02.chu.local"):
        monkeypatch.setattr(socket, "gethostname", lambda host=host: host)
        names.add(temp_path(tmp_path / "B2_x.b2").name)
    assert len(names) == 2


def test_host_name_is_sanitised(tmp_path, monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "poste/123 dim\n../x")
    name = temp_path(tmp_path / "a.arl").name
    assert "/" not in name and " " not in name and "\n" not in name
    assert name.startswith(f"{TEMP_PREFIX}poste_123_dim_.._x-")
    monkeypatch.setattr(socket, "gethostname", lambda: "")
    assert temp_path(tmp_path / "a.arl").name.startswith(f"{TEMP_PREFIX}unknown-")


def test_write_atomic_writes_through_that_name_and_leaves_nothing_else(tmp_path, monkeypatch):
    tree = Tree(tmp_path)
    target = tree.arl / "VIDHOSP_990000010_20250325101500_0001.txt.arl"
    renamed = []
    real_replace = os.replace

    def replace(src, dst):  # the real rename, watched
        renamed.append(Path(src).name)
        real_replace(src, dst)

    monkeypatch.setattr(tree_module.os, "replace", replace)
    tree.write_atomic(target, b"ARL;VIDHOSP\n")
    assert renamed == [temp_path(target).name]
    assert [p.name for p in tree.arl.iterdir()] == [target.name]
    assert target.read_bytes() == b"ARL;VIDHOSP\n"


def test_long_names_stay_within_the_file_system_limit(tmp_path):
    """An input name near 255 bytes: its `.arl` name fits, the temporary name must fit too."""
    tree = Tree(tmp_path)
    target = tree.arl / ("R" * 240 + "é.txt.arl")  # 240 + 2 + 8 = 250 bytes
    assert len(os.fsencode(temp_path(target).name)) <= NAME_MAX
    tree.write_atomic(target, b"ARL\n")
    assert [p.name for p in tree.arl.iterdir()] == [target.name]


# --- sweep of temporary files left by dead writers -----------------------------------------------

def _file(path: Path, age: dt.timedelta) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half a file")
    when = time.time() - age.total_seconds()
    os.utime(path, (when, when), follow_symlinks=False)
    return path


def test_create_removes_old_temporary_files_in_out_and_archive_only(tmp_path):
    old, fresh = TEMP_MAX_AGE + dt.timedelta(minutes=5), TEMP_MAX_AGE - dt.timedelta(minutes=5)
    root = tmp_path / "root"
    t = f"{TEMP_PREFIX}otherhost-4242-4242-"
    dead = [
        _file(root / "out" / "arl" / f"{t}X.txt.arl", old),
        _file(root / "out" / "b2" / f"{t}B2_1.b2", old),
        _file(root / "out" / "reports" / f"{t}990000010.2025.03.20250401020000.in.zip", old),
        _file(root / "archive" / "2025" / "03" / f"{t}X.txt.fenc", old),
        _file(root / f"{t}fides.toml", old),
    ]
    outside = tmp_path / "elsewhere.txt"
    outside.write_bytes(b"not fides'")
    kept = [
        _file(root / "out" / "b2" / f"{t}B2_2.b2", fresh),  # a live writer on another host
        _file(root / "out" / "arl" / "X.txt.arl", old),  # an output: retention's business
        _file(root / "archive" / "2025" / "03" / "X.txt", old),
        _file(root / "in" / f"{t}X.txt", old),  # in/ holds producers' names
        _file(root / "rejected" / f"{t}Y.txt", old),
    ]
    link = root / "out" / "arl" / f"{t}link"
    link.symlink_to(outside)
    os.utime(link, (0, 0), follow_symlinks=False)
    (root / "out" / "b2" / f"{t}dir").mkdir()

    Tree(root).create()

    assert [p for p in dead if os.path.lexists(p)] == []
    assert all(p.exists() for p in kept)
    assert link.is_symlink() and outside.read_bytes() == b"not fides'"
    assert (root / "out" / "b2" / f"{t}dir").is_dir()


def test_sweep_counts_and_tolerates_a_concurrent_sweep(tmp_path):
    tree = Tree(tmp_path)
    tree.create()
    _file(tree.reports / f"{TEMP_PREFIX}h-1-1-a", dt.timedelta(hours=3))
    _file(tree.b2 / f"{TEMP_PREFIX}h-1-1-b", dt.timedelta(hours=3))
    assert tree.sweep_temporaries() == 2
    assert tree.sweep_temporaries() == 0
    assert tree.sweep_temporaries(dt.timedelta(0)) == 0


# --- staged outputs -------------------------------------------------------------------------------

def test_a_staged_file_is_put_in_place_once(tmp_path):
    tree = Tree(tmp_path, file_mode=0o640)
    name = tree.stage(b"B2 lot")
    staged = tree.staging / name
    assert staged.read_bytes() == b"B2 lot" and staged.stat().st_mode & 0o777 == 0o640
    assert tree.staging == tmp_path / "out" / ".staging"
    target = tree.b2 / "B2_990000028_20250401000000_0001.b2"
    tree.unstage(name, target)
    assert target.read_bytes() == b"B2 lot" and target.stat().st_mode & 0o777 == 0o640
    assert list(tree.staging.iterdir()) == []
    tree.unstage(name, target)  # again, as after a crash before its row was dropped: nothing to do
    assert target.read_bytes() == b"B2 lot"
    with pytest.raises(FileNotFoundError):  # neither staged nor in place: lost, said so
        tree.unstage("0" * 32, tree.b2 / "B2_lost.b2")


def test_the_staging_sweep_keeps_the_named_files_only(tmp_path):
    tree = Tree(tmp_path)
    assert tree.sweep_staging(set()) == 0  # no staging directory yet
    kept, dropped = tree.stage(b"committed"), tree.stage(b"rolled back")
    assert tree.sweep_staging({kept}) == 1
    assert [p.name for p in tree.staging.iterdir()] == [kept] and dropped != kept


@pytest.mark.skipif(os.stat("/dev/shm").st_dev == os.stat(os.environ.get("TMPDIR", "/tmp")).st_dev,
                    reason="needs /dev/shm on another file system than the temporary directory")
def test_a_staged_file_reaches_an_output_directory_mounted_apart(tmp_path):
    """out/b2 on another file system (a share mounted there): no rename across them, a copy."""
    import tempfile

    with tempfile.TemporaryDirectory(dir="/dev/shm") as elsewhere:
        tree = Tree(tmp_path)
        tree.b2.parent.mkdir(parents=True)
        tree.b2.symlink_to(elsewhere)
        name = tree.stage(b"B2 lot")
        tree.unstage(name, tree.b2 / "B2_1.b2")
        assert (Path(elsewhere) / "B2_1.b2").read_bytes() == b"B2 lot"
        assert not (tree.staging / name).exists()
