"""All configuration, read from the environment in one place: `Settings.from_env()`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# A fixed key for the embedded development stack only. `from_env` refuses it in production.
DEV_PII_KEY = "ZGV2LW9ubHktMTAyMi1waWkta2V5LW5vdC1zZWNyZXQ="
# Signs the web pages' session cookies in the embedded and test stacks only.
DEV_SECRET_KEY = "dev-only-1022-session-signing-key-not-secret"  # noqa: S105
# Keys the phone numbers' blind index (shared/blind_index.py) in the embedded and test stacks.
DEV_CONTACT_INDEX_KEY = "dev-only-1022-contact-index-key-not-secret"  # noqa: S105


class SettingsError(ValueError):
    """A setting is missing or malformed."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


def _list(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None:
        return default
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    env: str = "embedded"
    host: str = "127.0.0.1"
    intake_port: int = 8000
    classifier_port: int = 8001
    tracker_port: int = 8002
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_client_id: str = "1022"
    # SASL_SSL + SCRAM-SHA-512 in Kubernetes (Strimzi KafkaUser per service); PLAINTEXT locally
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_username: str | None = None
    kafka_password: str | None = None
    kafka_ca_file: str | None = None
    kafka_create_topics: bool = True
    mongo_uri: str = "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false"
    mongo_db: str = "hotline1022"
    # every store operation gives up after this (pymongo timeoutMS): a store outage is
    # answered with 503 in bounded time instead of a hang
    mongo_timeout_ms: int = 3000
    mongo_server_selection_ms: int = 2000
    pii_keys: tuple[str, ...] = (DEV_PII_KEY,)
    open311_api_keys: tuple[str, ...] = ("demo",)
    staff_api_keys: tuple[str, ...] = ("demo-operator",)
    rate_limit_per_minute: int = 120
    proxy_hops: int = 0
    max_json_body_bytes: int = 22 * 1024 * 1024
    max_form_body_bytes: int = 1024 * 1024
    max_photo_bytes: int = 5 * 1024 * 1024
    tracking_prefix: str = "HCM"
    timezone: str = "Asia/Ho_Chi_Minh"
    service_area: tuple[float, float, float, float] = (10.3, 106.3, 11.2, 107.1)
    relay_batch_size: int = 500
    relay_idle_seconds: float = 0.25
    # reports not confirmed downstream after this long are published again (a broker that
    # lost its memory gets them back)
    relay_grace_seconds: float = 60.0
    replay_window_hours: int = 72
    public_base_url: str = "http://127.0.0.1:8000"
    classifier_batch_size: int = 500
    # the shared consumer loop (shared/consumer): records per poll, and how long a poll waits
    consumer_batch_size: int = 500
    consumer_poll_ms: int = 250
    classifier_model_check_seconds: float = 30.0  # how often a process looks for a promotion
    worker_metrics_port: int = 0
    group_commit: bool = True
    classifier_model_path: Path = (
        REPO_ROOT / "services" / "classifier" / "artifacts" / "model.joblib")
    tracker_config_dir: Path = REPO_ROOT / "services" / "tracker" / "config"
    staff_users_file: Path | None = None
    tracker_url: str = "http://127.0.0.1:8002"
    tracker_service_token: str = "demo-intake-service"  # noqa: S105 - embedded default
    monitor_interval_seconds: float = 0.5
    publisher_idle_seconds: float = 0.1
    publisher_lease_seconds: float = 15.0
    secret_key: str = DEV_SECRET_KEY
    classifier_url: str = "http://127.0.0.1:8001"
    intake_url: str = "http://127.0.0.1:8000"
    contact_index_key: str = DEV_CONTACT_INDEX_KEY
    # staff alert mail (issue 20) with the SMTP environment names the citizen mail uses
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str = "1022 <no-reply@1022.example>"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        app_env = env.get("APP_ENV", "embedded")
        if app_env not in {"embedded", "test", "production"}:
            raise SettingsError(f"APP_ENV must be embedded, test or production, got {app_env!r}")
        pii_keys = _list(env, "PII_KEYS", (DEV_PII_KEY,) if app_env != "production" else ())
        if not pii_keys:
            raise SettingsError("PII_KEYS must name at least one Fernet key in production")
        if app_env == "production" and DEV_PII_KEY in pii_keys:
            raise SettingsError("the development PII key must not be used in production")
        open311_keys = _list(
            env, "OPEN311_API_KEYS", ("demo",) if app_env != "production" else ()
        )
        staff_keys = _list(
            env, "STAFF_API_KEYS", ("demo-operator",) if app_env != "production" else ()
        )
        staff_file = env.get("STAFF_USERS_FILE") or None
        if app_env == "production" and not staff_file:
            raise SettingsError("STAFF_USERS_FILE must name the staff directory in production")
        service_token = env.get("TRACKER_SERVICE_TOKEN",
                                cls.tracker_service_token if app_env != "production" else "")
        secret_key = env.get("SECRET_KEY") or (DEV_SECRET_KEY if app_env != "production"
                                                else "")
        if app_env == "production" and (len(secret_key) < 32 or secret_key == DEV_SECRET_KEY):
            raise SettingsError("SECRET_KEY must be a random string of 32+ characters in "
                                "production (it signs the staff and resident session cookies)")
        index_key = env.get("CONTACT_INDEX_KEY") or (DEV_CONTACT_INDEX_KEY
                                                    if app_env != "production" else "")
        if app_env == "production" and (len(index_key) < 32
                                        or index_key == DEV_CONTACT_INDEX_KEY):
            raise SettingsError("CONTACT_INDEX_KEY must be a random string of 32+ characters "
                                "in production (it keys the phone numbers' blind index)")
        area = _list(env, "SERVICE_AREA", ())
        if area and len(area) != 4:
            raise SettingsError("SERVICE_AREA is min_lat,min_long,max_lat,max_long")
        host = env.get("HOST", cls.host)
        intake_port = _int(env, "INTAKE_PORT", cls.intake_port)
        return cls(
            env=app_env,
            host=host,
            intake_port=intake_port,
            classifier_port=_int(env, "CLASSIFIER_PORT", cls.classifier_port),
            tracker_port=_int(env, "TRACKER_PORT", cls.tracker_port),
            kafka_bootstrap=env.get("KAFKA_BOOTSTRAP", cls.kafka_bootstrap),
            kafka_client_id=env.get("KAFKA_CLIENT_ID", cls.kafka_client_id),
            kafka_security_protocol=env.get("KAFKA_SECURITY_PROTOCOL",
                                            cls.kafka_security_protocol),
            kafka_sasl_mechanism=env.get("KAFKA_SASL_MECHANISM", cls.kafka_sasl_mechanism),
            kafka_username=env.get("KAFKA_USERNAME") or None,
            kafka_password=env.get("KAFKA_PASSWORD") or None,
            kafka_ca_file=env.get("KAFKA_CA_FILE") or None,
            kafka_create_topics=env.get("KAFKA_CREATE_TOPICS", "true").lower() != "false",
            mongo_uri=env.get("MONGO_URI", cls.mongo_uri),
            mongo_db=env.get("MONGO_DB", cls.mongo_db),
            mongo_timeout_ms=_int(env, "MONGO_TIMEOUT_MS", cls.mongo_timeout_ms),
            mongo_server_selection_ms=_int(env, "MONGO_SERVER_SELECTION_MS",
                                           cls.mongo_server_selection_ms),
            pii_keys=pii_keys,
            open311_api_keys=open311_keys,
            staff_api_keys=staff_keys,
            rate_limit_per_minute=_int(env, "RATE_LIMIT_PER_MINUTE", cls.rate_limit_per_minute),
            proxy_hops=_int(env, "PROXY_HOPS", cls.proxy_hops),
            max_json_body_bytes=_int(env, "MAX_JSON_BODY_BYTES", cls.max_json_body_bytes),
            max_form_body_bytes=_int(env, "MAX_FORM_BODY_BYTES", cls.max_form_body_bytes),
            max_photo_bytes=_int(env, "MAX_PHOTO_BYTES", cls.max_photo_bytes),
            tracking_prefix=env.get("TRACKING_PREFIX", cls.tracking_prefix),
            timezone=env.get("TIMEZONE", cls.timezone),
            service_area=tuple(float(x) for x in area) if area else cls.service_area,
            relay_batch_size=_int(env, "RELAY_BATCH_SIZE", cls.relay_batch_size),
            relay_idle_seconds=_float(env, "RELAY_IDLE_SECONDS", cls.relay_idle_seconds),
            relay_grace_seconds=_float(env, "RELAY_GRACE_SECONDS", cls.relay_grace_seconds),
            replay_window_hours=_int(env, "REPLAY_WINDOW_HOURS", cls.replay_window_hours),
            public_base_url=env.get("PUBLIC_BASE_URL", f"http://{host}:{intake_port}"),
            group_commit=env.get("GROUP_COMMIT", "1") not in {"0", "false", "no"},
            worker_metrics_port=_int(env, "WORKER_METRICS_PORT", cls.worker_metrics_port),
            classifier_batch_size=_int(env, "CLASSIFIER_BATCH_SIZE", cls.classifier_batch_size),
            consumer_batch_size=_int(env, "CONSUMER_BATCH_SIZE", cls.consumer_batch_size),
            consumer_poll_ms=_int(env, "CONSUMER_POLL_MS", cls.consumer_poll_ms),
            classifier_model_check_seconds=_float(
                env, "CLASSIFIER_MODEL_CHECK_SECONDS", cls.classifier_model_check_seconds),
            classifier_model_path=Path(env.get("CLASSIFIER_MODEL", str(cls.classifier_model_path))),
            tracker_config_dir=Path(env.get("TRACKER_CONFIG_DIR", str(cls.tracker_config_dir))),
            staff_users_file=Path(staff_file) if staff_file else None,
            tracker_url=env.get("TRACKER_URL", f"http://{host}:{_int(env, 'TRACKER_PORT', 8002)}"),
            tracker_service_token=service_token,
            monitor_interval_seconds=_float(env, "MONITOR_INTERVAL_SECONDS",
                                            cls.monitor_interval_seconds),
            publisher_idle_seconds=_float(env, "PUBLISHER_IDLE_SECONDS",
                                          cls.publisher_idle_seconds),
            publisher_lease_seconds=_float(env, "PUBLISHER_LEASE_SECONDS",
                                           cls.publisher_lease_seconds),
            secret_key=secret_key,
            classifier_url=env.get(
                "CLASSIFIER_URL", f"http://{host}:{_int(env, 'CLASSIFIER_PORT', 8001)}"),
            intake_url=env.get("INTAKE_URL", f"http://{host}:{intake_port}"),
            contact_index_key=index_key,
            smtp_host=env.get("SMTP_HOST") or None,
            smtp_port=_int(env, "SMTP_PORT", cls.smtp_port),
            smtp_starttls=env.get("SMTP_STARTTLS", "true").lower() not in {"0", "false", "no"},
            smtp_username=env.get("SMTP_USERNAME") or None,
            smtp_password=env.get("SMTP_PASSWORD") or None,
            mail_from=env.get("MAIL_FROM", cls.mail_from),
        )
