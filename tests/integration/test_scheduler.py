"""The scheduled jobs on real PostgreSQL: one claimant per period among concurrent processes,
catch-up after downtime (a fake clock: `now` is passed explicitly, nothing sleeps for it),
failures recorded and taken over, and the real jobs (billing, EXTRACTEPMSI, validation)."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
import zipfile
from pathlib import Path

import psycopg
import pytest

from fides import config as config_mod
from fides.engine.scheduler import Daily, Every, Job, Monthly, Scheduler, jobs_from, status_lines
from fides.layouts import load

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
import dossier_factory as factory  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
FILLED = {"rejet_amo": "0", "statut_ft_amo": "1", "statut_ft_amc": "9", "statut_ft_patient": "0",
          "pays_assurance": "100", "ipp": "00100234"}


def at(*args) -> dt.datetime:
    """A local wall-clock time as an aware datetime (periods follow the local clock)."""
    return dt.datetime(*args).astimezone()


def connect(db_url):
    return lambda: psycopg.connect(db_url, autocommit=True)


def recorder():
    runs: list[tuple[str, str]] = []
    lock = threading.Lock()

    def action(s, conn, period, now):
        with lock:
            runs.append((s.actor, period))
        time.sleep(0.05)  # hold the claim while the others try
        return "OK essai", None

    return runs, action


def job_rows(db_url, job: str) -> list[tuple]:
    with psycopg.connect(db_url) as c:
        return c.execute("SELECT period, claimed_by, outcome FROM job_run WHERE job = %s ORDER BY period",
                         (job,)).fetchall()


@pytest.fixture
def cfg(tmp_path):
    return config_mod.from_mapping(tmp_path, {"inbox": {"stable_seconds": 0}, "billing": {"tjp": {"146": 1000}},
                                              "schedule": {"billing": ["07:00", "13:00"]}})


# --- calendars (pure) ----------------------------------------------------------------------------

def test_daily_calendar_catches_up_the_latest_slot_only():
    cal = Daily((dt.time(7), dt.time(13)))
    now = dt.datetime(2025, 3, 25, 10, 0)
    assert cal.due(None, now) == ["2025-03-25T07:00"]
    assert cal.due("2025-03-25T07:00", now) == []
    assert cal.due("2025-03-20T13:00", now) == ["2025-03-25T07:00"]  # not every missed slot
    assert cal.due(None, dt.datetime(2025, 3, 25, 6, 59)) == ["2025-03-24T13:00"]
    assert cal.next_after(now) == dt.datetime(2025, 3, 25, 13, 0)
    assert cal.next_after(dt.datetime(2025, 3, 25, 13, 0)) == dt.datetime(2025, 3, 26, 7, 0)


def test_monthly_calendar_catches_up_every_missed_month_once():
    cal = Monthly(dt.time(2))
    assert cal.due(None, dt.datetime(2025, 3, 1, 1, 59)) == ["2025-01"]
    assert cal.due(None, dt.datetime(2025, 3, 1, 2, 0)) == ["2025-02"]
    assert cal.due("2025-01", dt.datetime(2025, 6, 3)) == ["2025-02", "2025-03", "2025-04", "2025-05"]
    assert cal.due("2025-05", dt.datetime(2025, 6, 3)) == []
    assert cal.due("2024-11", dt.datetime(2025, 1, 1, 3)) == ["2024-12"]
    assert cal.next_after(dt.datetime(2025, 6, 3)) == dt.datetime(2025, 7, 1, 2)
    assert cal.next_after(dt.datetime(2025, 6, 1, 1)) == dt.datetime(2025, 6, 1, 2)


def test_interval_calendar():
    cal = Every(15)
    assert cal.due(None, dt.datetime(2025, 3, 25, 10, 44, 59)) == ["2025-03-25T10:30"]
    assert cal.due("2025-03-25T10:30", dt.datetime(2025, 3, 25, 10, 44)) == []
    assert cal.next_after(dt.datetime(2025, 3, 25, 10, 44)) == dt.datetime(2025, 3, 25, 10, 45)


def test_jobs_follow_the_configuration(tmp_path):
    default = config_mod.from_mapping(tmp_path, {})
    assert [j.name for j in jobs_from(default)] == ["extract_epmsi", "validation", "retention"]
    off = config_mod.from_mapping(tmp_path, {"schedule": {"extract_epmsi": "", "validation_minutes": 0,
                                                          "retention": "", "billing": ["07:00", "13:00"]}})
    assert [j.name for j in jobs_from(off)] == ["billing"]


def test_bad_schedule_values_name_their_key(tmp_path):
    with pytest.raises(config_mod.ConfigError, match="schedule.billing: heures locales"):
        config_mod.from_mapping(tmp_path, {"schedule": {"billing": ["7h"]}})
    with pytest.raises(config_mod.ConfigError, match="retention.audit_days: 0 .jamais. ou au moins 183"):
        config_mod.from_mapping(tmp_path, {"retention": {"audit_days": 90}})


# --- claims ------------------------------------------------------------------------------------

def _together(n: int, process) -> None:
    """`process(i)` for i in 0..n-1, each in its own thread (the processes of several hosts)."""
    threads = [threading.Thread(target=process, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_exactly_one_claimant_per_period(db_url, cfg):
    runs, action = recorder()
    job = Job("essai", "essai", Daily((dt.time(7),)), action)
    n = 8
    barrier = threading.Barrier(n)
    outcomes: dict[int, str | None] = {}

    def process(i: int) -> None:
        s = Scheduler(cfg, {}, connect(db_url), actor=f"p{i}", jobs=[job])
        barrier.wait()
        outcomes[i] = s.run_period("essai", "2025-03-25T07:00", at(2025, 3, 25, 7, 0, 5))
        s.conn.close()

    _together(n, process)
    winners = [i for i, o in outcomes.items() if o is not None]
    assert len(outcomes) == n and len(winners) == 1 and len(runs) == 1
    assert job_rows(db_url, "essai") == [("2025-03-25T07:00", f"p{winners[0]}", "OK essai")]


def test_concurrent_catch_up_runs_each_missed_month_once(db_url, cfg):
    runs, action = recorder()
    job = Job("essai", "essai", Monthly(dt.time(2)), action)
    with psycopg.connect(db_url) as c:
        c.execute("INSERT INTO job_run (job, period, claimed_by, finished_at, outcome) "
                  "VALUES ('essai', '2025-01', 'avant', now(), 'OK')")
    n = 6
    barrier = threading.Barrier(n)

    def process(i: int) -> None:
        s = Scheduler(cfg, {}, connect(db_url), actor=f"p{i}", jobs=[job])
        barrier.wait()
        s.run_due("essai", at(2025, 6, 3, 9, 0))  # down since February
        s.conn.close()

    _together(n, process)
    assert sorted(p for _, p in runs) == ["2025-02", "2025-03", "2025-04", "2025-05"]
    rows = job_rows(db_url, "essai")
    assert [r[0] for r in rows] == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]
    assert all(r[2] == "OK" or r[2] == "OK essai" for r in rows)


def test_catch_up_after_downtime_with_a_fake_clock(db_url, cfg):
    runs, action = recorder()
    jobs = [Job("billing", "b", Daily((dt.time(7), dt.time(13))), action),
            Job("extract_epmsi", "e", Monthly(dt.time(2)), action)]
    s = Scheduler(cfg, {}, connect(db_url), actor="p", jobs=jobs)
    s.catch_up(at(2025, 1, 15, 7, 30))  # first start
    assert runs == [("p", "2025-01-15T07:00"), ("p", "2024-12")]
    s.catch_up(at(2025, 1, 15, 7, 45))  # restarted within the same periods: nothing again
    s.run_due("billing", at(2025, 1, 15, 12, 59))
    assert len(runs) == 2
    s.run_due("billing", at(2025, 1, 15, 13, 0, 2))  # the 13:00 trigger
    assert runs[-1] == ("p", "2025-01-15T13:00")
    runs.clear()
    s.catch_up(at(2025, 4, 2, 10, 0))  # down from mid-January to April 2nd
    assert runs == [("p", "2025-04-02T07:00"), ("p", "2025-01"), ("p", "2025-02"), ("p", "2025-03")]
    runs.clear()
    s.catch_up(at(2025, 4, 2, 10, 5))
    assert runs == []
    assert [r[0] for r in job_rows(db_url, "billing")] == ["2025-01-15T07:00", "2025-01-15T13:00", "2025-04-02T07:00"]
    s.conn.close()


def test_a_failed_run_is_recorded_and_taken_over(db_url, cfg):
    calls = []

    def flaky(s, conn, period, now):
        conn.execute("INSERT INTO job_run (job, period, claimed_by) VALUES ('trace', %s, 'x')", (str(len(calls)),))
        calls.append(period)
        if len(calls) == 1:
            raise RuntimeError("NIR 1850375123456 dans le message")  # never logged nor recorded
        return "OK repris", None

    job = Job("essai", "essai", Daily((dt.time(7),)), flaky)
    s = Scheduler(cfg, {}, connect(db_url), actor="p", jobs=[job])
    assert s.run_due("essai", at(2025, 3, 25, 8)) == [("2025-03-25T07:00", "ECHEC RuntimeError")]
    assert job_rows(db_url, "essai") == [("2025-03-25T07:00", "p", "ECHEC RuntimeError")]
    assert job_rows(db_url, "trace") == []  # the failed run's effects rolled back with its claim
    assert s.run_due("essai", at(2025, 3, 25, 9)) == [("2025-03-25T07:00", "OK repris")]
    assert job_rows(db_url, "essai") == [("2025-03-25T07:00", "p", "OK repris")]
    assert s.run_due("essai", at(2025, 3, 25, 10)) == []
    assert calls == ["2025-03-25T07:00"] * 2
    s.conn.close()


def test_the_failure_message_is_not_logged(db_url, cfg, caplog):
    def broken(s, conn, period, now):
        raise ValueError("1850375123456")

    s = Scheduler(cfg, {}, connect(db_url), actor="p", jobs=[Job("essai", "essai", Daily((dt.time(7),)), broken)])
    s.run_due("essai", at(2025, 3, 25, 8))
    assert "ValueError" in caplog.text and "1850375123456" not in caplog.text
    s.conn.close()


def test_apscheduler_starts_with_a_catch_up_and_stops(db_url, cfg):
    runs, action = recorder()
    s = Scheduler(cfg, {}, connect(db_url), actor="p", jobs=[Job("essai", "essai", Every(60), action)])
    s.start()
    try:
        deadline = time.monotonic() + 20
        while not runs and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        s.stop()
    assert len(runs) == 1 and len(job_rows(db_url, "essai")) == 1
    assert s.conn is None


# --- the real jobs ---------------------------------------------------------------------------------

def _valued_vidhosp(nda: str) -> str:
    from fides.billing.valorisation import valorise

    d = factory.dossier(factory.vidhosp(num_admin_sejour=nda), [factory.rum(num_admin_sejour=nda)])
    v = valorise(d, factory.context())
    return load("vidhosp_V015").render({**factory.vidhosp(num_admin_sejour=nda), **FILLED, **v.expected_vidhosp})


def _drop(processor, name: str, lines: list[str]) -> None:
    (processor.tree.inbox / name).write_bytes("".join(f"{line}\r\n" for line in lines).encode("latin-1"))


def test_scheduled_billing_writes_b2_and_its_report_once(engine, db_url, cfg):
    ndas = ["2025000201", "2025000202"]
    _drop(engine, "IUM_990000010_20250301000000_0001.txt",
          (EXAMPLES / "ium_2013.txt").read_text(encoding="latin-1").splitlines())
    _drop(engine, "VIDHOSP_990000010_20250320000000_0001.txt", [_valued_vidhosp(n) for n in ndas])
    _drop(engine, "RSS_990000010_20250320000000_0002.txt",
          [load("rss_grp_122").render(factory.rum(num_admin_sejour=n)) for n in ndas])
    engine.run_pass()
    assert engine.conn.execute("SELECT count(*) FROM dossier WHERE state = 1").fetchone()[0] == 2
    s = Scheduler(cfg, engine.context, connect(db_url), actor="planif")
    now = at(2025, 3, 25, 13, 0, 1)
    assert s.run_due("billing", now) == [("2025-03-25T13:00", "OK 2 facture(s) dans 1 lot(s), 0 non générée(s)")]
    tree = engine.tree
    (b2_file,) = tree.b2.iterdir()
    assert b2_file.name.startswith("B2_") and b2_file.read_bytes()
    report = tree.reports / f"FACTURATION_990000010_{now:%Y%m%d%H%M%S}.arl"
    lines = report.read_text(encoding="utf-8").splitlines()
    assert [line.split(";")[1:3] for line in lines] == [[n, "GENERE"] for n in ndas]
    assert (tree.reports / "FACT_SYNT.TXT").exists()
    with psycopg.connect(db_url) as c:
        assert c.execute("SELECT count(*) FROM pending_output").fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM dossier WHERE state = 2").fetchone()[0] == 2
    assert s.run_due("billing", at(2025, 3, 25, 13, 30)) == []  # another trigger, same slot
    other = Scheduler(cfg, engine.context, connect(db_url), actor="autre hôte")
    assert other.catch_up(at(2025, 3, 25, 14))["billing"] == []  # another process starting now
    s.conn.close()
    other.conn.close()


def test_scheduled_extract_catches_up_missed_months(engine, db_url, cfg):
    s = Scheduler(cfg, engine.context, connect(db_url), actor="planif")
    assert s.run_due("extract_epmsi", at(2025, 3, 1, 2, 0, 30))[0][0] == "2025-02"
    assert s.run_due("extract_epmsi", at(2025, 5, 20, 9, 0)) == [
        ("2025-03", "OK 0 dossier(s) : " + next(engine.tree.reports.glob("990000010.2025.3.*.in.zip")).name),
        ("2025-04", "OK 0 dossier(s) : " + next(engine.tree.reports.glob("990000010.2025.4.*.in.zip")).name),
    ]
    zips = sorted(p.name.split(".")[2] for p in engine.tree.reports.glob("*.in.zip"))
    assert zips == ["2", "3", "4"]
    with zipfile.ZipFile(next(engine.tree.reports.glob("990000010.2025.2.*.in.zip"))) as zf:
        assert sorted(zf.namelist()) == ["990000010.2025.2.rss.txt", "990000010.2025.2.vidhosp.txt"]
    s.conn.close()


def test_scheduled_validation_and_status(engine, db_url, cfg):
    s = Scheduler(cfg, engine.context, connect(db_url), actor="planif")
    assert s.run_due("validation", at(2025, 3, 25, 10, 7)) == [
        ("2025-03-25T10:00", "OK 0 validé(s), 0 en anomalie, 0 hors B2")]
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("INSERT INTO job_run (job, period, claimed_by, finished_at, outcome) "
                  "VALUES ('ancienne', '2024-01', 'x', now(), 'OK')")
        lines = status_lines(cfg, c, at(2025, 3, 25, 10, 8))
    text = "\n".join(lines)
    assert "génération B2" in text and "chaque jour à 07:00, 13:00 ; prochaine le 2025-03-25 à 13:00" in text
    assert "période 2025-03-25T10:00" in text and "par planif : OK 0 validé(s)" in text
    assert "ancienne" in text and "désactivée" in text
    assert text.count("jamais exécutée") == 3  # extract, billing, retention
    s.conn.close()
