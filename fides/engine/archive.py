"""Archives encrypted at rest (DESIGN.md §8): an archived input `X` becomes `X.fenc`.

Format of a `.fenc` file (all integers big-endian):

    magic "FIDESENC" (8) | version 1 (1) | key id (8) | nonce (12) | name length (2) | name
    | AES-256-GCM ciphertext of the file | GCM tag (16)

The whole header is the GCM associated data: the key id, the nonce and the original file name
cannot be changed without the tag failing, like the ciphertext itself. Encryption and decryption
stream (memory stays flat whatever the file size); a decrypted file is written under a temporary
name and renamed only once the tag has been checked, so unauthenticated plaintext is never left
behind, and decryption to standard output checks the whole file before printing a byte.

The key file (`[security] archive_key_file`, outside the root, not readable by others) holds one
key per line, newest first: `<key id, 16 hex> <key, base64 of 32 bytes> [comment]`; lines
starting with `#` are comments. New archives use the first key; every key listed still decrypts
the archives made with it, so a rotation (`fides archive rotate`) never strands an old archive.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import logging
import os
import stat
import struct
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

from fides.engine.tree import TEMP_PREFIX, atomic_file, fsync_dir

log = logging.getLogger(__name__)

MAGIC = b"FIDESENC"
VERSION = 1
SUFFIX = ".fenc"
KEY_BYTES = 32
KID_BYTES = 8
NONCE_BYTES = 12
TAG_BYTES = 16
CHUNK = 1 << 20
_FIXED = struct.Struct(f">{len(MAGIC)}sB{KID_BYTES}s{NONCE_BYTES}sH")


class ArchiveError(Exception):
    """A `.fenc` file that cannot be read: unknown format, unknown key, or tampered with."""


class KeyFileError(ArchiveError):
    """The key file is missing, badly protected or malformed."""


# --- keys ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    kid: bytes
    secret: bytes = field(repr=False)

    @property
    def kid_hex(self) -> str:
        return self.kid.hex()


@dataclass(frozen=True)
class Keyring:
    keys: tuple[Key, ...]  # newest first

    @property
    def newest(self) -> Key:
        return self.keys[0]

    def get(self, kid: bytes) -> Key:
        for key in self.keys:
            if key.kid == kid:
                return key
        raise ArchiveError(f"clé {kid.hex()} absente du fichier de clés (archive chiffrée avec une clé retirée ?)")


def new_key() -> Key:
    return Key(os.urandom(KID_BYTES), os.urandom(KEY_BYTES))


def render_key(key: Key, created: dt.date | None = None) -> str:
    comment = f" créée le {created.isoformat()}" if created else ""
    return f"{key.kid_hex} {base64.b64encode(key.secret).decode()}{comment}\n"


def parse_keyring(text: str) -> Keyring:
    """The keys of a key file, newest first; KeyFileError naming the line when malformed."""
    keys: list[Key] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        try:
            kid = bytes.fromhex(parts[0])
            secret = base64.b64decode(parts[1], validate=True) if len(parts) > 1 else b""
        except (ValueError, binascii.Error):
            raise KeyFileError(f"ligne {number} : « <id hexadécimal> <clé base64> » attendu") from None
        if len(kid) != KID_BYTES or len(secret) != KEY_BYTES:
            raise KeyFileError(f"ligne {number} : identifiant de {KID_BYTES} octets et clé de {KEY_BYTES} octets attendus")
        if any(k.kid == kid for k in keys):
            raise KeyFileError(f"ligne {number} : identifiant de clé {parts[0]} en double")
        keys.append(Key(kid, secret))
    if not keys:
        raise KeyFileError("aucune clé")
    return Keyring(tuple(keys))


def key_file_problem(path: Path, root: Path | None) -> str | None:
    """Why this key file must not be used (None when it may): absent, inside the buffer tree,
    readable or writable by others, not a regular file, or malformed."""
    if not path.is_absolute():
        return "chemin absolu attendu"
    try:
        resolved = path.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        return f"{path} absent (créez-le : fides archive rotate --key-file {path})"
    except (OSError, RuntimeError) as exc:
        return f"{path} illisible ({exc.__class__.__name__})"
    if root is not None:
        tree = Path(root).resolve()
        if resolved.is_relative_to(tree) or path.is_relative_to(tree):
            return f"{path} est dans la racine {tree} : la clé doit être ailleurs que les archives"
    st = resolved.stat()
    if not stat.S_ISREG(st.st_mode):
        return f"{path} n'est pas un fichier ordinaire"
    if st.st_mode & (stat.S_IROTH | stat.S_IWOTH):
        return f"{path} accessible à tous (chmod o-rw), refusé"
    try:
        parse_keyring(resolved.read_text(encoding="utf-8"))
    except (PermissionError, UnicodeDecodeError) as exc:
        return f"{path} illisible ({exc.__class__.__name__})"
    except KeyFileError as exc:
        return f"{path} : {exc}"
    return None


def read_keyring(path: Path) -> Keyring:
    problem = key_file_problem(path, None)
    if problem:
        raise KeyFileError(problem)
    return parse_keyring(path.read_text(encoding="utf-8"))


def rotate(path: Path, today: dt.date | None = None, mode: int = 0o600) -> Key:
    """Put a new key first in the key file (created when absent), keeping every older key.
    The file is rewritten atomically with its mode, owner and group kept (0600 when new)."""
    path = Path(path)
    if not path.is_absolute():
        raise KeyFileError("chemin absolu attendu")
    key = new_key()
    old = ""
    gid = None
    if path.exists():
        old_text = path.read_text(encoding="utf-8")
        parse_keyring(old_text)  # refuse to extend a malformed file
        st = path.stat()
        mode, gid = stat.S_IMODE(st.st_mode) & ~(stat.S_IRWXO), st.st_gid
        old = old_text
    header = "" if old else "# fides : clés de chiffrement des archives, la plus récente en premier.\n" \
                            "# Ne retirez une clé que lorsqu'aucune archive ne l'utilise plus.\n"
    lines = old.splitlines(keepends=True)
    comments = [line for line in lines if line.lstrip().startswith("#")]
    rest = [line for line in lines if not line.lstrip().startswith("#")]
    text = header + "".join(comments) + render_key(key, today or dt.date.today()) + "".join(rest)
    with atomic_file(path, mode, gid) as out:
        out.write(text.encode("utf-8"))
    return key


# --- sealing and opening ---------------------------------------------------------------------

def _cipher(key: Key, nonce: bytes, tag: bytes | None = None):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    return Cipher(algorithms.AES(key.secret), modes.GCM(nonce, tag) if tag else modes.GCM(nonce))


def header_for(key: Key, nonce: bytes, name: str) -> bytes:
    raw = os.fsencode(name)
    return _FIXED.pack(MAGIC, VERSION, key.kid, nonce, len(raw)) + raw


@dataclass(frozen=True)
class Header:
    kid: bytes
    nonce: bytes
    name: str
    raw: bytes


def read_header(f: BinaryIO) -> Header:
    fixed = f.read(_FIXED.size)
    if len(fixed) < _FIXED.size or not fixed.startswith(MAGIC):
        raise ArchiveError("pas une archive chiffrée fides (en-tête FIDESENC absent)")
    _magic, version, kid, nonce, length = _FIXED.unpack(fixed)
    if version != VERSION:
        raise ArchiveError(f"version de format {version} inconnue")
    raw_name = f.read(length)
    if len(raw_name) != length:
        raise ArchiveError("en-tête tronqué")
    return Header(kid, nonce, os.fsdecode(raw_name), fixed + raw_name)


def encrypt_stream(src: BinaryIO, out: BinaryIO, key: Key, name: str) -> None:
    nonce = os.urandom(NONCE_BYTES)
    header = header_for(key, nonce, name)
    enc = _cipher(key, nonce).encryptor()
    enc.authenticate_additional_data(header)
    out.write(header)
    while chunk := src.read(CHUNK):
        out.write(enc.update(chunk))
    out.write(enc.finalize())
    out.write(enc.tag)


def _body(f: BinaryIO, size: int, start: int) -> Iterator[bytes]:
    remaining = size - start - TAG_BYTES
    while remaining > 0:
        chunk = f.read(min(CHUNK, remaining))
        if not chunk:
            raise ArchiveError("archive tronquée")
        remaining -= len(chunk)
        yield chunk


def decrypt_stream(path: Path, keyring: Keyring, out: BinaryIO | None) -> Header:
    """Decrypt `path` into `out` (None: only check it). Raises ArchiveError when the file was
    altered (or the key is wrong); what was written to `out` must then be discarded."""
    from cryptography.exceptions import InvalidTag

    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        header = read_header(f)
        if size < len(header.raw) + TAG_BYTES:
            raise ArchiveError("archive tronquée")
        key = keyring.get(header.kid)
        f.seek(size - TAG_BYTES)
        tag = f.read(TAG_BYTES)
        f.seek(len(header.raw))
        dec = _cipher(key, header.nonce, tag).decryptor()
        dec.authenticate_additional_data(header.raw)
        for chunk in _body(f, size, len(header.raw)):
            data = dec.update(chunk)
            if out is not None:
                out.write(data)
        try:
            tail = dec.finalize()
        except InvalidTag:
            raise ArchiveError(f"{path.name} : authentification échouée (archive altérée ou mauvaise clé)") from None
        if out is not None:
            out.write(tail)
    return header


def decrypt_file(path: Path, keyring: Keyring, target: Path, mode: int = 0o600) -> Header:
    """Decrypt into `target`, which appears (atomically) only if the archive is authentic."""
    with atomic_file(Path(target), mode) as out:
        return decrypt_stream(path, keyring, out)


def decrypt_to_stdout(path: Path, keyring: Keyring) -> Header:
    decrypt_stream(path, keyring, None)  # whole file authenticated first: nothing doubtful printed
    out = sys.stdout.buffer
    header = decrypt_stream(path, keyring, out)
    out.flush()
    return header


def sealed_name(path: Path) -> Path:
    return path.with_name(path.name + SUFFIX)


# --- the archiver the tree uses --------------------------------------------------------------

class Archiver:
    """Seals files moved under archive/ with the newest key of a key file, re-read when it
    changes (a `fides archive rotate` is picked up by a running service)."""

    def __init__(self, key_file: Path, keyring: Keyring | None = None) -> None:
        self.key_file = Path(key_file)
        self._lock = threading.Lock()
        self._cached: tuple[tuple, Keyring] | None = None
        if keyring is not None:
            self._cached = (self._signature(), keyring)

    def _signature(self) -> tuple:
        try:
            st = os.stat(self.key_file)
        except FileNotFoundError:
            return ()
        return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode)

    def keyring(self) -> Keyring:
        with self._lock:
            sig = self._signature()
            if self._cached is None or self._cached[0] != sig:
                try:
                    keyring = read_keyring(self.key_file)
                except (KeyFileError, OSError) as exc:
                    if self._cached is None:
                        raise
                    # Changed while running and now unusable: keep the keys checked before (a
                    # restart refuses the file and says why).
                    log.error("fichier de clés %s modifié et inutilisable (%s) ; clés précédentes conservées",
                              self.key_file, exc)
                    keyring = self._cached[1]
                self._cached = (sig, keyring)
            return self._cached[1]

    def seal(self, plain: Path, file_mode: int = 0o600, gid: int | None = None, name: str | None = None) -> Path:
        """`plain` -> `plain.fenc` (written under a temporary name, fsynced, renamed), then the
        plaintext removed. Returns the sealed path."""
        key = self.keyring().newest
        target = sealed_name(plain)
        try:
            src = open(plain, "rb", opener=lambda p, flags: os.open(p, flags | os.O_NOFOLLOW))
        except FileNotFoundError:
            if target.exists():
                return target  # sealed meanwhile by another process
            raise
        with src, atomic_file(target, file_mode, gid) as out:
            encrypt_stream(src, out, key, name or plain.name)
        try:
            os.unlink(plain)
        except FileNotFoundError:
            pass
        fsync_dir(plain.parent)
        return target


class _Hasher:
    def __init__(self) -> None:
        self.h = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.h.update(data)
        return len(data)


def seal_leftovers(archive_root: Path, archiver: Archiver, file_mode: int = 0o600, gid: int | None = None) -> int:
    """Seal the plaintext files under archive/ (a crash between move and encryption, or archives
    made before encryption was switched on). A plaintext whose `.fenc` twin already exists with
    the same content is simply removed. Returns the number of files sealed or removed.

    Racing another process that is sealing the same file is harmless: both write a complete
    `.fenc` of the same content under their own temporary name and rename it into place, and a
    plaintext already gone is skipped."""
    done = 0
    if not archive_root.is_dir():
        return 0
    for directory, dirs, files in os.walk(archive_root):
        dirs.sort()
        for fname in sorted(files):
            if fname.endswith(SUFFIX) or fname.startswith(TEMP_PREFIX) or fname.startswith("."):
                continue
            path = Path(directory) / fname
            try:
                if _seal_one(path, fname, archiver, file_mode, gid):
                    done += 1
            except FileNotFoundError:
                continue  # sealed meanwhile by the process that archived it
    return done


def _seal_one(path: Path, fname: str, archiver: Archiver, file_mode: int, gid: int | None) -> bool:
    if not stat.S_ISREG(os.lstat(path).st_mode):
        return False
    twin = sealed_name(path)
    if twin.exists():
        if _same_content(path, twin, archiver.keyring()):
            path.unlink()
            return True
        n = 1  # another file of the same name: sealed beside it, as move_into would
        while os.path.lexists(path.with_name(f"{fname}.{n}")) or \
                os.path.lexists(sealed_name(path.with_name(f"{fname}.{n}"))):
            n += 1
        moved = path.with_name(f"{fname}.{n}")
        os.rename(path, moved)
        path = moved
    archiver.seal(path, file_mode, gid, name=fname)
    return True


def _same_content(plain: Path, sealed: Path, keyring: Keyring) -> bool:
    hasher = _Hasher()
    try:
        decrypt_stream(sealed, keyring, hasher)
    except ArchiveError:
        return False
    with open(plain, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest() == hasher.h.hexdigest()


