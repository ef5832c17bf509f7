"""python -m services.intake init-db | serve | relay | projector | notifier | rotate-keys |
new-key"""

from __future__ import annotations

import argparse
import logging

from shared.clock import clock_from
from shared.crypto import FieldCipher
from shared.mongo import connect, database
from shared.service_main import configure_logging, exec_gunicorn, load_settings, stop_on_signals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.intake")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init-db", help="create intake's MongoDB indexes (idempotent)")
    sub.add_parser("serve", help="HTTP API under gunicorn")
    sub.add_parser("relay", help="publish stored reports to Kafka (the outbox relay)")
    sub.add_parser("projector", help="apply downstream events to the citizen-facing view")
    sub.add_parser("notifier", help="queue citizen notifications from status events and "
                                    "send them (email, SMS, Zalo)")
    sub.add_parser("rotate-keys", help="re-encrypt personal data under the first PII key")
    sub.add_parser("new-key", help="print a new PII key")
    args = parser.parse_args(argv)
    configure_logging()
    settings = load_settings("intake")

    if args.command == "init-db":
        from services.intake.store import init_db

        init_db(database(connect(settings), settings))
        print("intake: indexes created")
    elif args.command == "serve":
        exec_gunicorn("services.intake.app:create_app", port=settings.intake_port,
                      settings=settings)
    elif args.command == "relay":
        from services.intake.outbox.relay import OutboxRelay

        stop = stop_on_signals()
        db = database(connect(settings), settings)
        logging.getLogger("intake.relay").info("relay publishing to %s",
                                               settings.kafka_bootstrap)
        OutboxRelay(settings=settings, db=db, clock=clock_from(settings.clock_file)).run(stop)
    elif args.command == "projector":
        from services.intake.projector import run_projector

        run_projector(settings, database(connect(settings), settings), stop_on_signals())
    elif args.command == "notifier":
        from services.intake.notify.main import run_notifier

        run_notifier(settings, database(connect(settings), settings), stop_on_signals())
    elif args.command == "rotate-keys":
        from services.intake.keys import rotate_pii

        db = database(connect(settings), settings)
        count = rotate_pii(db=db, cipher=FieldCipher(settings.pii_keys))
        print(f"re-encrypted {count} reports under the first key")
    elif args.command == "new-key":
        print(FieldCipher.generate_key())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
