"""Archives encrypted at rest: round trip, key rotation, tampering detected, the tree's archive
move, the key file checks, and `fides archive` (decrypt, rotate, seal, check)."""

from __future__ import annotations

import datetime as dt
import grp
import os
import stat
from pathlib import Path

import pytest

from fides import config
from fides.cli import main
from fides.engine import archive
from fides.engine.tree import Security, Tree

NAME = "VIDHOSP_990000010_20250325101500_0001.txt"
CONTENT = b"ligne 1 avec un NIR 1850375123456 89\r\nligne 2\r\n"


@pytest.fixture
def key_file(tmp_path) -> Path:
    path = tmp_path / "keys" / "archive.key"
    path.parent.mkdir()
    archive.rotate(path)
    return path


def tree_with(root: Path, key_file: Path | None, gid: int | None = None) -> Tree:
    root.mkdir(exist_ok=True)
    tree = Tree(root, security=Security(gid, archive.Archiver(key_file) if key_file else None))
    tree.create()
    return tree


def archive_one(tree: Tree, name: str = NAME, content: bytes = CONTENT) -> Path:
    (tree.inbox / name).write_bytes(content)
    return tree.move_into(tree.inbox / name, tree.archive(dt.datetime(2025, 3, 25)))


def decrypted(path: Path, key_file: Path) -> bytes:
    out = path.parent / "clear.out"
    archive.decrypt_file(path, archive.read_keyring(key_file), out)
    data = out.read_bytes()
    out.unlink()
    return data


def test_round_trip_leaves_only_the_sealed_file(tmp_path, key_file):
    tree = tree_with(tmp_path / "root", key_file)
    sealed = archive_one(tree)
    assert sealed == tree.root / "archive" / "2025" / "03" / f"{NAME}.fenc"
    assert sorted(p.name for p in sealed.parent.iterdir()) == [f"{NAME}.fenc"]
    assert not (tree.inbox / NAME).exists()
    assert stat.S_IMODE(sealed.stat().st_mode) == 0o600
    raw = sealed.read_bytes()
    assert raw.startswith(archive.MAGIC) and b"NIR" not in raw and b"1850375123456" not in raw
    assert decrypted(sealed, key_file) == CONTENT
    with open(sealed, "rb") as f:
        assert archive.read_header(f).name == NAME


def test_directories_are_created_with_the_configured_mode(tmp_path, key_file):
    tree = tree_with(tmp_path / "root", key_file)
    archive_one(tree)
    for directory in (tree.root / "archive" / "2025", tree.root / "archive" / "2025" / "03"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_large_file_streams(tmp_path, key_file):
    tree = tree_with(tmp_path / "root", key_file)
    content = os.urandom(archive.CHUNK * 2 + 12345)
    sealed = archive_one(tree, content=content)
    assert sealed.stat().st_size == len(content) + len(archive.header_for(archive.new_key(), b"0" * 12, NAME)) + 16
    assert decrypted(sealed, key_file) == content


def test_empty_file_round_trip(tmp_path, key_file):
    tree = tree_with(tmp_path / "root", key_file)
    assert decrypted(archive_one(tree, content=b""), key_file) == b""


def test_same_name_archived_twice_keeps_both(tmp_path, key_file):
    tree = tree_with(tmp_path / "root", key_file)
    first = archive_one(tree, content=b"premier\n")
    second = archive_one(tree, content=b"second\n")
    assert (first.name, second.name) == (f"{NAME}.fenc", f"{NAME}.1.fenc")
    assert decrypted(first, key_file) == b"premier\n" and decrypted(second, key_file) == b"second\n"
    with open(second, "rb") as f:
        assert archive.read_header(f).name == NAME  # the input's own name, for the auditor


def test_rejected_inputs_are_not_encrypted(tmp_path, key_file):
    tree = tree_with(tmp_path / "root", key_file)
    (tree.inbox / NAME).write_bytes(CONTENT)
    moved = tree.move_into(tree.inbox / NAME, tree.rejected)
    assert moved == tree.rejected / NAME and moved.read_bytes() == CONTENT


def test_without_a_key_archives_stay_plain(tmp_path):
    tree = tree_with(tmp_path / "root", None)
    moved = archive_one(tree)
    assert moved.name == NAME and moved.read_bytes() == CONTENT


def test_rotation_keeps_old_archives_readable(tmp_path, key_file):
    tree = tree_with(tmp_path / "root", key_file)
    old = archive_one(tree, "A.txt", b"ancienne clef\n")
    first = archive.read_keyring(key_file).newest
    new = archive.rotate(key_file)
    ring = archive.read_keyring(key_file)
    assert [k.kid for k in ring.keys] == [new.kid, first.kid]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    recent = archive_one(tree, "B.txt", b"nouvelle clef\n")  # the running archiver re-reads the key file
    with open(old, "rb") as f_old, open(recent, "rb") as f_new:
        assert archive.read_header(f_old).kid == first.kid
        assert archive.read_header(f_new).kid == new.kid
    assert decrypted(old, key_file) == b"ancienne clef\n"
    assert decrypted(recent, key_file) == b"nouvelle clef\n"


def test_a_retired_key_is_named(tmp_path, key_file):
    tree = tree_with(tmp_path / "root", key_file)
    sealed = archive_one(tree)
    other = tmp_path / "other.key"
    archive.rotate(other)
    with pytest.raises(archive.ArchiveError, match="absente du fichier de clés"):
        archive.decrypt_stream(sealed, archive.read_keyring(other), None)


@pytest.mark.parametrize("where", ["ciphertext", "tag", "name", "nonce", "truncated"])
def test_tampering_is_detected_and_nothing_is_released(tmp_path, key_file, where):
    tree = tree_with(tmp_path / "root", key_file)
    sealed = archive_one(tree)
    raw = bytearray(sealed.read_bytes())
    header_len = len(archive.header_for(archive.new_key(), b"0" * 12, NAME))
    if where == "ciphertext":
        raw[header_len + 3] ^= 0x01
    elif where == "tag":
        raw[-1] ^= 0x80
    elif where == "name":
        raw[header_len - 5] ^= 0x20  # the name is authenticated too
    elif where == "nonce":
        raw[len(archive.MAGIC) + 1 + archive.KID_BYTES] ^= 0x01
    else:
        raw = raw[:-20]
    sealed.write_bytes(bytes(raw))
    out = tmp_path / "clear.txt"
    with pytest.raises(archive.ArchiveError):
        archive.decrypt_file(sealed, archive.read_keyring(key_file), out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".fides-tmp-")] == []


def test_not_an_archive(tmp_path, key_file):
    path = tmp_path / "x.fenc"
    path.write_bytes(b"pas chiffre")
    with pytest.raises(archive.ArchiveError, match="FIDESENC"):
        archive.decrypt_stream(path, archive.read_keyring(key_file), None)


# --- the key file -----------------------------------------------------------------------------

def test_key_file_problems(tmp_path, key_file):
    root = tmp_path / "root"
    root.mkdir()
    assert archive.key_file_problem(key_file, root) is None
    assert "absent" in archive.key_file_problem(tmp_path / "none.key", root)
    assert "chemin absolu" in archive.key_file_problem(Path("relative.key"), root)
    inside = root / "archive.key"
    inside.write_bytes(key_file.read_bytes())
    inside.chmod(0o600)
    assert "dans la racine" in archive.key_file_problem(inside, root)
    link = tmp_path / "link.key"
    link.symlink_to(inside)
    assert "dans la racine" in archive.key_file_problem(link, root)
    key_file.chmod(0o604)
    assert "accessible à tous" in archive.key_file_problem(key_file, root)
    key_file.chmod(0o640)  # the group may read it (a secrets group)
    assert archive.key_file_problem(key_file, root) is None
    bad = tmp_path / "bad.key"
    bad.write_text("0011 pas-une-cle\n")
    bad.chmod(0o600)
    assert "ligne 1" in archive.key_file_problem(bad, root)


def test_keyring_parsing():
    a, b = archive.new_key(), archive.new_key()
    text = "# commentaire\n\n" + archive.render_key(a, dt.date(2025, 1, 1)) + archive.render_key(b)
    ring = archive.parse_keyring(text)
    assert ring.newest == a and ring.get(b.kid) == b
    with pytest.raises(archive.KeyFileError, match="en double"):
        archive.parse_keyring(archive.render_key(a) + archive.render_key(a))
    with pytest.raises(archive.KeyFileError, match="aucune clé"):
        archive.parse_keyring("# rien\n")
    assert "secret" not in repr(a) and a.secret.hex() not in repr(a)


def _config_file(root: Path, body: str) -> None:
    root.mkdir(exist_ok=True)
    (root / "fides.toml").write_text(body, encoding="utf-8")
    (root / "fides.toml").chmod(0o600)


def test_config_refuses_a_world_readable_key_file(tmp_path, key_file):
    root = tmp_path / "root"
    _config_file(root, f'[security]\narchive_key_file = "{key_file}"\n')
    assert config.load(root)["security.archive_key_file"] == str(key_file)
    key_file.chmod(0o644)
    with pytest.raises(config.ConfigError, match="security.archive_key_file: .*accessible à tous"):
        config.load(root)


def test_config_refuses_a_key_file_inside_the_root(tmp_path, key_file):
    root = tmp_path / "root"
    root.mkdir()
    inside = root / "keys.txt"
    inside.write_bytes(key_file.read_bytes())
    inside.chmod(0o600)
    _config_file(root, f'[security]\narchive_key_file = "{inside}"\n')
    with pytest.raises(config.ConfigError, match="dans la racine"):
        config.load(root)


def test_config_refuses_a_missing_key_file_and_an_unknown_group(tmp_path):
    root = tmp_path / "root"
    _config_file(root, f'[security]\narchive_key_file = "{tmp_path / "none.key"}"\n')
    with pytest.raises(config.ConfigError, match="absent"):
        config.load(root)
    _config_file(root, '[security]\ngroup = "pas-un-groupe-fides"\n')
    with pytest.raises(config.ConfigError, match="security.group: groupe 'pas-un-groupe-fides' inconnu"):
        config.load(root)


def test_tree_reads_the_security_settings_of_its_root(tmp_path, key_file):
    """The engine builds its own Tree(root, modes): encryption must follow from fides.toml."""
    root = tmp_path / "root"
    group = grp.getgrgid(os.getegid()).gr_name
    _config_file(root, f'[security]\narchive_key_file = "{key_file}"\ngroup = "{group}"\nfile_mode = 0o640\n')
    tree = Tree(root, 0o640, 0o750)
    tree.create()
    sealed = archive_one(tree)
    assert sealed.name == f"{NAME}.fenc" and decrypted(sealed, key_file) == CONTENT
    assert stat.S_IMODE(sealed.stat().st_mode) == 0o640 and sealed.stat().st_gid == os.getegid()
    written = tree.write_atomic(tree.arl / "x.arl", b"ok")
    assert written.stat().st_gid == os.getegid()
    assert stat.S_IMODE((root / "archive" / "2025").stat().st_mode) == 0o750


# --- plaintext left behind ----------------------------------------------------------------------

def test_leftover_plaintext_is_sealed(tmp_path, key_file):
    tree = tree_with(tmp_path / "root", key_file)
    month = tree.archive(dt.datetime(2025, 3, 1))
    tree.mkdir(month)
    (month / "A.txt").write_bytes(b"en clair\n")
    archiver = archive.Archiver(key_file)
    assert archive.seal_leftovers(tree.root / "archive", archiver) == 1
    assert archive.seal_leftovers(tree.root / "archive", archiver) == 0
    assert sorted(p.name for p in month.iterdir()) == ["A.txt.fenc"]
    assert decrypted(month / "A.txt.fenc", key_file) == b"en clair\n"


def test_leftover_twin_of_a_sealed_file(tmp_path, key_file):
    """A crash after the .fenc was renamed but before the plaintext was removed."""
    tree = tree_with(tmp_path / "root", key_file)
    sealed = archive_one(tree)
    (sealed.parent / NAME).write_bytes(CONTENT)  # the plaintext is back, same content
    (sealed.parent / "B.txt.fenc").write_bytes(b"")  # unrelated
    (sealed.parent / "B.txt").write_bytes(b"autre contenu")  # another file whose name is taken
    archiver = archive.Archiver(key_file)
    assert archive.seal_leftovers(tree.root / "archive", archiver) == 2
    names = sorted(p.name for p in sealed.parent.iterdir())
    assert names == ["B.txt.1.fenc", "B.txt.fenc", f"{NAME}.fenc"]
    assert decrypted(sealed, key_file) == CONTENT
    assert decrypted(sealed.parent / "B.txt.1.fenc", key_file) == b"autre contenu"


# --- the command line ----------------------------------------------------------------------------

def test_cli_rotate_decrypt_seal_check(tmp_path, capfdbinary):
    def out_text() -> str:
        return capfdbinary.readouterr().out.decode()

    key_file = tmp_path / "secrets" / "archive.key"
    key_file.parent.mkdir()
    assert main(["archive", "rotate", "--key-file", str(key_file)]) == 0
    assert "ajoutée en tête" in out_text()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    root = tmp_path / "root"
    _config_file(root, f'[security]\narchive_key_file = "{key_file}"\n')
    tree = Tree(root)
    tree.create()
    sealed = archive_one(tree)
    assert main(["archive", "rotate", "--root", str(root)]) == 0
    assert len(archive.read_keyring(key_file).keys) == 2
    out = tmp_path / "audit" / "clair.txt"
    out.parent.mkdir()
    assert main(["archive", "decrypt", str(sealed), "--out", str(out), "--root", str(root)]) == 0
    assert out.read_bytes() == CONTENT and stat.S_IMODE(out.stat().st_mode) == 0o600
    capfdbinary.readouterr()
    assert main(["archive", "decrypt", str(sealed), "--key-file", str(key_file)]) == 0
    assert capfdbinary.readouterr().out == CONTENT
    month = sealed.parent
    (month / "C.txt").write_bytes(b"oubli\n")
    assert main(["archive", "seal", "--root", str(root)]) == 0
    assert "1 archive(s) en clair chiffrée(s)" in out_text()
    assert main(["archive", "check", "--root", str(root)]) == 0
    assert "2/2 archive(s) chiffrée(s) intègre(s) ; 0 fichier(s) en clair" in out_text()
    raw = bytearray(sealed.read_bytes())
    raw[-30] ^= 1
    sealed.write_bytes(bytes(raw))
    assert main(["archive", "check", "--root", str(root)]) == 1
    assert "authentification échouée" in out_text()
    capfdbinary.readouterr()
    assert main(["archive", "decrypt", str(sealed), "--root", str(root)]) == 1
    assert capfdbinary.readouterr().out == b""  # nothing unauthenticated printed


# --- changes while running ------------------------------------------------------------------------

def test_a_key_file_spoilt_while_running_keeps_the_keys_checked_before(tmp_path, key_file, caplog):
    archiver = archive.Archiver(key_file)
    before = archiver.keyring()
    key_file.write_text("abîmé\n", encoding="utf-8")
    assert archiver.keyring() == before
    assert "clés précédentes conservées" in caplog.text
    with pytest.raises(archive.KeyFileError):
        archive.Archiver(key_file).keyring()  # a fresh start refuses it


def test_an_encryption_failure_leaves_the_input_archived_and_sealed_later(tmp_path, key_file, caplog):
    class Broken(archive.Archiver):
        def seal(self, *args, **kwargs):
            raise OSError(28, "No space left on device")

    root = tmp_path / "root"
    root.mkdir()
    tree = Tree(root, security=Security(None, Broken(key_file)))
    tree.create()
    moved = archive_one(tree)
    assert moved.name == NAME and moved.read_bytes() == CONTENT and not (tree.inbox / NAME).exists()
    assert "chiffrement de" in caplog.text and "OSError" in caplog.text
    assert archive.seal_leftovers(root / "archive", archive.Archiver(key_file)) == 1
    assert decrypted(moved.with_name(f"{NAME}.fenc"), key_file) == CONTENT


def test_a_config_spoilt_while_running_keeps_the_security_checked_at_start(tmp_path, key_file, caplog):
    root = tmp_path / "root"
    _config_file(root, f'[security]\narchive_key_file = "{key_file}"\n')
    tree = Tree(root)
    tree.create()
    assert archive_one(tree, "A.txt").name == "A.txt.fenc"
    (root / "fides.toml").write_text('[security]\narchive_key_file = "relatif"\n', encoding="utf-8")
    assert archive_one(tree, "B.txt").name == "B.txt.fenc"
    assert "réglages de sécurité précédents conservés" in caplog.text
