"""The notifier process: the status-event consumer in one thread, the dispatcher in another."""

from __future__ import annotations

import logging
import threading

from pymongo.database import Database

from services.intake.notify import consumer as status_consumer
from services.intake.notify.dispatcher import Dispatcher
from services.intake.notify.senders import senders_from_settings
from shared.clock import Clock, system_clock
from shared.crypto import FieldCipher
from shared.settings import Settings

log = logging.getLogger(__name__)


def make_dispatcher(settings: Settings, db: Database, *, clock: Clock = system_clock,
                    senders: dict | None = None) -> Dispatcher:
    return Dispatcher(db=db, cipher=FieldCipher(settings.pii_keys),
                      senders=senders if senders is not None
                      else senders_from_settings(settings.notify, settings.smtp),
                      clock=clock, settings=settings.notify,
                      public_base_url=settings.public_base_url,
                      secret_key=settings.secret_key, timezone=settings.timezone)


def run_notifier(settings: Settings, db: Database, stop: threading.Event, *,
                 clock: Clock = system_clock) -> None:
    dispatcher = make_dispatcher(settings, db, clock=clock)
    log.info("notifier: channels configured: %s", ", ".join(sorted(dispatcher.senders)) or
             "none")
    consumer = threading.Thread(target=status_consumer.run, args=(settings, db, stop),
                                kwargs={"clock": clock}, name="notify-consumer", daemon=True)
    consumer.start()
    try:
        dispatcher.run(stop)
    finally:
        stop.set()
        consumer.join(timeout=10)
