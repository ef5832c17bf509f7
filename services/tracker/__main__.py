"""python -m services.tracker init-db | serve | worker | monitor | calendar --year YYYY |
rebuild-figures"""

from __future__ import annotations

import argparse
import json
import logging
import threading

from shared.clock import clock_from
from shared.mongo import connect, database
from shared.service_main import configure_logging, exec_gunicorn, load_settings, stop_on_signals
from shared.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.tracker")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init-db", help="create the tracker's MongoDB indexes (idempotent)")
    sub.add_parser("serve", help="HTTP API under gunicorn")
    sub.add_parser("worker", help="create tickets from classified reports")
    sub.add_parser("monitor", help="SLA sweeps and the publisher of status events and alerts")
    sub.add_parser("alerts", help="SLA alerts to people: notification centre and e-mail")
    cal = sub.add_parser("calendar", help="the days off and working weekend days of a year, "
                                          "as the SLA clocks count them")
    cal.add_argument("--year", type=int, required=True)
    cal.add_argument("--format", choices=("text", "json"), default="text")
    rebuild = sub.add_parser("rebuild-figures", help="recompute the supervisor's counters "
                                                     "from the tickets (idempotent)")
    rebuild.add_argument("--check", action="store_true",
                         help="only compare; exit 1 when the counters differ")
    args = parser.parse_args(argv)
    configure_logging()
    settings = load_settings("tracker")
    if args.command == "calendar":
        return print_calendar(settings, year=args.year, fmt=args.format)
    if args.command == "rebuild-figures":
        return rebuild_figures(settings, check=args.check)
    if args.command == "init-db":
        from services.tracker.store import init_db

        init_db(database(connect(settings), settings))
        print("tracker: indexes created")
        return 0
    if args.command == "serve":
        # gthread, chosen on measurement (README, Live pages): each open page holds a thread
        exec_gunicorn("services.tracker.app:create_app", port=settings.tracker_port,
                      settings=settings, long_lived=settings.live_streams_per_worker)
        return 0

    from services.tracker.config import ConfigSource

    config = ConfigSource(settings)  # read again every 30 s: edits apply without restart
    db = database(connect(settings), settings)
    stop = stop_on_signals()
    clock = clock_from(settings.clock_file)
    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port, addr=settings.host)
    if args.command == "alerts":
        from services.tracker.alerts.consumer import spec
        from services.tracker.alerts.mailer import Mailer
        from shared.consumer import run_consumer

        mailer = Mailer(settings=settings, db=db, clock=clock)
        thread = threading.Thread(target=mailer.run, args=(stop,), name="alert-mailer")
        thread.start()
        run_consumer(spec(db, config), stop, settings=settings, clock=clock)
        thread.join(30)
    elif args.command == "worker":
        from services.tracker.worker import run_worker

        logging.getLogger("tracker").info("tracker worker consuming classified reports")
        run_worker(stop, settings=settings, db=db, config=config, clock=clock)
    else:
        from services.tracker.monitor import run_monitor
        from services.tracker.publisher import Publisher

        publisher = Publisher(settings=settings, db=db, clock=clock)
        thread = threading.Thread(target=publisher.run, args=(stop,), name="publisher")
        thread.start()
        run_monitor(stop, db=db, config=config, clock=clock,
                    interval_s=settings.monitor_interval_seconds)
        thread.join(30)
    return 0


def rebuild_figures(settings: Settings, *, check: bool) -> int:
    import time

    from services.tracker.config import load_config
    from services.tracker.stats.counters import rebuild
    from shared.clock import system_clock

    config = load_config(settings)
    # a batch job reading every ticket: no operation deadline, and a store busy answering
    # its reads (the embedded one gathers a whole page of the scan before its first batch) is not
    # taken for a lost one (a short heartbeat timeout cancelled the scan of 20,000 tickets)
    client = connect(settings, timeoutMS=None, connectTimeoutMS=600_000,
                     serverSelectionTimeoutMS=600_000)
    db = database(client, settings)
    started = time.monotonic()
    result = rebuild(db, tz=config.business.tz, now=system_clock(), dry_run=check)
    verb = "differ" if check else "rewritten"
    print(f"figures: {result.documents} counter documents from the tickets, "
          f"{result.rewritten} {verb}, {result.removed} stale, "
          f"{result.hashes_set} ticket hashes {'stale' if check else 'set'} "
          f"({time.monotonic() - started:.1f} s)")
    drift = result.rewritten or result.removed or result.hashes_set
    return 1 if check and drift else 0


def print_calendar(settings: Settings, *, year: int, fmt: str) -> int:
    from services.tracker.sla.calendar import holidays_version, load_calendar

    if not 1900 <= year <= 2200:
        print(f"--year: expected a year between 1900 and 2200, got {year}")
        return 2
    path = settings.tracker_config_dir / "calendar.json"
    calendar = load_calendar(path)
    days_off = [d.isoformat() for d in calendar.days_off(year)]
    worked = [d.isoformat() for d in calendar.working_weekend_days(year)]
    if fmt == "json":
        print(json.dumps({"year": year, "calendar_file": str(path),
                          "holidays_version": holidays_version(), "days_off": days_off,
                          "working_weekend_days": worked}, indent=2))
    else:
        print(f"{year} business calendar ({path}, holidays {holidays_version()})")
        print("days off (working weekdays not worked):", ", ".join(days_off) or "none")
        print("working weekend days:", ", ".join(worked) or "none")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
