"""`fides run`: the inbox watched with filesystem events as hints and a periodic full rescan that
alone is enough (network shares never deliver events); the scheduled jobs (billing, monthly
EXTRACTEPMSI, validation sweep, retention: fides/engine/scheduler.py) run beside it in their own
thread with their own database connection."""

from __future__ import annotations

import logging
import os
import threading

import psycopg

from fides import helpers
from fides.flows.naming import is_temporary

log = logging.getLogger(__name__)


def _observer(inbox, wake: threading.Event, closed: dict[str, tuple[int, int]]):
    from watchdog.events import FileClosedEvent, FileMovedEvent, FileSystemEventHandler
    from watchdog.observers import Observer
    from watchdog.observers.inotify_move_event_grouper import InotifyMoveEventGrouper

    # Every file fides moves out of in/ leaves an unpaired "moved from" event, which watchdog holds
    # 0.5 s waiting for its "moved to", holding every later event behind it: each new file was
    # seen 0.5 s late. A rename within in/ delivers both halves at once; 20 ms is plenty to pair them.
    InotifyMoveEventGrouper.delay = 0.02

    class Hint(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            # A file its writer closed (or renamed into in/) is complete as it stands now: it is
            # taken at once instead of after `inbox.stable_seconds` (measured: a one-line drop
            # acknowledged in ~0.1 s instead of ~1.1 s). Any later change shows in size or mtime.
            if isinstance(event, (FileClosedEvent, FileMovedEvent)):
                path = event.dest_path if isinstance(event, FileMovedEvent) else event.src_path
                name = os.path.basename(path)
                if os.path.dirname(path) == str(inbox) and not is_temporary(name):
                    if len(closed) > 10_000:  # names never processed (deleted by hand…): forget them
                        closed.clear()
                    try:
                        st = os.lstat(path)
                        closed[name] = (st.st_size, st.st_mtime_ns)
                    except OSError:  # already gone (taken by a pass, or moved on)
                        pass
            wake.set()

    observer = Observer()
    observer.schedule(Hint(), str(inbox), recursive=False)
    observer.daemon = True
    observer.start()
    return observer


def scheduler_for(inst):
    from fides.engine.scheduler import Scheduler
    from fides.store import db

    return Scheduler(inst.config, inst.context, lambda: db.connect(inst.url, wait_seconds=60))


def serve(inst, stop: threading.Event, poll_only: bool = False, schedule: bool = True) -> None:
    wake = threading.Event()
    threading.Thread(target=helpers.start, name="fides-helpers", daemon=True).start()
    processor = inst.processor()
    observer = None if poll_only else _observer(inst.tree.inbox, wake, processor.closed)
    scheduler = scheduler_for(inst) if schedule else None
    if scheduler is not None:
        scheduler.start()
    web = None
    if inst.config["web.enabled"]:
        from fides.web import server

        web = server.start(inst.config, inst.url)
        log.info("dashboard on %s", web.url)
    rescan = inst.config["inbox.rescan_seconds"]
    stable = inst.config["inbox.stable_seconds"]
    log.info("fides run: watching %s", inst.tree.inbox)
    try:
        while not stop.is_set():
            if observer is not None and not observer.is_alive():
                log.warning("file watcher stopped; restarting it")
                observer = _observer(inst.tree.inbox, wake, processor.closed)
            try:
                report = processor.run_pass()
            except psycopg.OperationalError as exc:
                log.error("database unavailable (%s); waiting", type(exc).__name__)
                stop.wait(2.0)
                _reconnect(inst, processor)
                continue
            except Exception as exc:  # a failing after-pass job must not stop the service
                log.error("pass failed (%s); retrying", type(exc).__name__)
                stop.wait(rescan)
                continue
            # A file seen but not yet stable is looked at again once it may have settled.
            timeout = min(rescan, stable + 0.05) if report.waiting else rescan
            wake.wait(timeout)
            wake.clear()
    finally:
        if observer is not None:
            observer.stop()
        if scheduler is not None:
            scheduler.stop()
        if web is not None:
            web.stop()
        log.info("fides run: stopped")


def _reconnect(inst, processor) -> None:
    from fides.store import db

    try:
        inst.conn.close()
    except Exception:  # the old connection is already broken
        pass
    inst.conn = db.connect(inst.url, wait_seconds=3600)
    processor.conn = inst.conn
