"""`fides run` with `[web] enabled` serves the dashboard, refuses requests without the token, and
stops cleanly on SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from buffer import FINESS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_serves_the_dashboard(site):
    port = _free_port()
    token = "t" * 24
    (site.root / "fides.toml").write_text(
        f'[establishment]\nfiness = "{FINESS}"\n\n[inbox]\nstable_seconds = 0\n\n'
        f'[web]\nenabled = true\nport = {port}\ntoken = "{token}"\n', encoding="utf-8")
    env = dict(os.environ, FIDES_DATABASE_URL=site.db_url)
    proc = subprocess.Popen([sys.executable, "-m", "fides.cli", "run", "--poll", "--root", str(site.root)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and status is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/dossiers", timeout=2)
                status = 200
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                time.sleep(0.3)
        assert status == 401
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/dossiers",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
