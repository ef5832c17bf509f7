"""All configuration, read from the environment in one place: `Settings.from_env()`.

Each setting declares, beside its default, the environment variable it is read from, which
services read it (`used_by`) and what production demands of it. A process reads only its own
service's settings (`Settings.from_env(service="intake")`): the classifier never holds the PII
keys, and production checks apply to what the process reads. Without `service` (tools, the
dev stack, tests) every setting is read and checked."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import unquote

REPO_ROOT = Path(__file__).resolve().parent.parent

# A fixed key for the embedded development stack only. `from_env` refuses it in production.
DEV_PII_KEY = "ZGV2LW9ubHktMTAyMi1waWkta2V5LW5vdC1zZWNyZXQ="
# Signs the web pages' session cookies in the embedded and test stacks only.
DEV_SECRET_KEY = "dev-only-1022-session-signing-key-not-secret"  # noqa: S105
# Keys the phone numbers' blind index (shared/blind_index.py) in the embedded and test stacks.
DEV_CONTACT_INDEX_KEY = "dev-only-1022-contact-index-key-not-secret"  # noqa: S105
# Signs the classifier's promoted models (services/classifier/registry.py) in dev and tests.
DEV_MODEL_SIGNING_KEY = "dev-only-1022-model-signing-key-not-secret"  # noqa: S105


class SettingsError(ValueError):
    """A setting is missing or malformed."""


# Credentials of the embedded and test stacks; production refuses each, naming the setting.
DEMO_CREDENTIALS: dict[str, frozenset[str]] = {
    "OPEN311_API_KEYS": frozenset({"demo"}),
    "STAFF_API_KEYS": frozenset({"demo-operator"}),
    "TRACKER_SERVICE_TOKEN": frozenset({"demo-intake-service"}),
    # the password placeholder of deploy/.env.example and the k8s Secrets
    "MONGO_URI": frozenset({"CHANGE_ME"}),
}
DEMO_STAFF_FILE = "staff.demo.json"


def _no_demo(setting: str) -> Callable[[tuple[str, ...] | str], str | None]:
    """Production's rule for a credential: none of the embedded stack's demo values."""
    def check(value: tuple[str, ...] | str) -> str | None:
        values = (value,) if isinstance(value, str) else value
        used = sorted(set(values) & DEMO_CREDENTIALS[setting])
        if used:
            return (f"{setting} holds a development credential ({', '.join(used)}); "
                    "production needs its own secret")
        return None
    return check


def _uri_password(uri: str) -> str:
    credentials, at, _ = uri.partition("://")[2].rpartition("@")
    return unquote(credentials.partition(":")[2]) if at else ""


def _mongo_uri_in_production(uri: str) -> str | None:
    return _no_demo("MONGO_URI")(_uri_password(uri))


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


def _str(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, default)


def _optional(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    return env.get(name) or default


def _path(env: Mapping[str, str], name: str, default: Path | None) -> Path | None:
    raw = env.get(name)
    return Path(raw) if raw else default


def _flag_off_when(*words: str) -> Callable[[Mapping[str, str], str, bool], bool]:
    def parse(env: Mapping[str, str], name: str, default: bool) -> bool:
        raw = env.get(name)
        return default if raw is None else raw.lower() not in words
    return parse


def _flag_on_when(*words: str) -> Callable[[Mapping[str, str], str, bool], bool]:
    def parse(env: Mapping[str, str], name: str, default: bool) -> bool:
        raw = env.get(name)
        return default if raw is None else raw.lower() in words
    return parse


def _area(env: Mapping[str, str], name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    area = _list(env, name, ())
    if not area:
        return default
    if len(area) != 4:
        raise SettingsError(f"{name} is min_lat,min_long,max_lat,max_long")
    return tuple(float(x) for x in area)


INTAKE, CLASSIFIER, TRACKER = "intake", "classifier", "tracker"
SERVICES = frozenset({INTAKE, CLASSIFIER, TRACKER})
_SAME = object()


@dataclass(frozen=True)
class Spec:
    """How a setting is read: its variable, its parser, who reads it, and production's rule
    (`production_default` replaces a development default; `production` returns what is wrong
    with the value, or None)."""

    env: str
    parse: Callable[[Mapping[str, str], str, Any], Any]
    used_by: frozenset[str]
    production_default: Any = _SAME
    production: Callable[[Any], str | None] | None = None
    derived: Callable[[Mapping[str, str], dict[str, Any]], Any] | None = None


def setting(default: Any, env: str, *, parse: Callable[..., Any] = _str,
            used_by: frozenset[str] | tuple[str, ...] = SERVICES,
            production_default: Any = _SAME,
            production: Callable[[Any], str | None] | None = None,
            derived: Callable[[Mapping[str, str], dict[str, Any]], Any] | None = None) -> Any:
    """A dataclass field with its Spec; `derived` computes the default from the settings
    read before it (a URL from the host and a port) when the variable is not set."""
    return field(default=default, metadata={"spec": Spec(
        env, parse, frozenset(used_by), production_default, production, derived)})


def _pii_keys_in_production(keys: tuple[str, ...]) -> str | None:
    if not keys:
        return "PII_KEYS must name at least one Fernet key in production"
    if DEV_PII_KEY in keys:
        return "PII_KEYS holds the development PII key; it must not be used in production"
    return None


def _staff_file_in_production(path: Path | None) -> str | None:
    if not path:
        return "STAFF_USERS_FILE must name the staff directory in production"
    if path.name == DEMO_STAFF_FILE:
        return (f"STAFF_USERS_FILE names the demo staff directory ({DEMO_STAFF_FILE}); "
                "production needs its own")
    return None


def _secret_key_in_production(key: str) -> str | None:
    if len(key) < 32 or key == DEV_SECRET_KEY:
        return ("SECRET_KEY must be a random string of 32+ characters in production (it signs "
                "the staff and resident session cookies)")
    return None


def _contact_index_key_in_production(key: str) -> str | None:
    if len(key) < 32 or key == DEV_CONTACT_INDEX_KEY:
        return ("CONTACT_INDEX_KEY must be a random string of 32+ characters in production "
                "(it keys the phone numbers' blind index)")
    return None


def _model_signing_key_in_production(key: str) -> str | None:
    if len(key) < 32 or key == DEV_MODEL_SIGNING_KEY:
        return ("MODEL_SIGNING_KEY must be a random string of 32+ characters in production "
                "(it signs the classifier's promoted models)")
    return None


def _url_of(port_env: str, port_default: int) -> Callable[[Mapping[str, str], dict], str]:
    def url(env: Mapping[str, str], values: dict[str, Any]) -> str:
        return f"http://{values['host']}:{_int(env, port_env, port_default)}"
    return url


def _mapping(env: Mapping[str, str], name: str) -> dict[str, str]:
    """`kind=value,kind=value` (e.g. a provider's template ids per message kind)."""
    out = {}
    for part in _list(env, name, ()):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"{name} is kind=value,kind=value, got {part!r}")
        out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True)
class GatewaySettings:
    """An HTTP SMS or Zalo OA gateway: where to POST, the token, the template id per kind."""

    url: str | None = None
    token: str | None = None
    templates: tuple[tuple[str, str], ...] = ()
    timeout_s: float = 5.0


@dataclass(frozen=True)
class SmtpSettings:
    """The mail relay: intake sends the citizens' messages through it, the tracker the
    staff's alerts. Read once, from the `smtp_*` settings (`Settings.smtp`)."""

    host: str | None = None
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    timeout_s: float = 10.0
    mail_from: str = "1022 <no-reply@1022.example>"


@dataclass(frozen=True)
class NotifySettings:
    """The citizens' messages (intake): gateways, retries, quiet hours. The mail relay is
    `Settings.smtp`, shared with the tracker's alert mail."""

    sms: GatewaySettings = GatewaySettings()
    zalo: GatewaySettings = GatewaySettings()
    retry_base_s: float = 30.0
    retry_max_s: float = 3600.0
    give_up_after_s: float = 48 * 3600.0
    quiet_start_hour: int = 21
    quiet_end_hour: int = 7
    batch_size: int = 100
    idle_s: float = 0.2  # the shortest wait between rounds that sent nothing
    # the longest: a new row rings at once and a retry's due time is known, so this only
    # bounds what nothing announces (a row another replica rescheduled, a simulated clock)
    idle_max_s: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotifySettings:
        def gateway(url: str, token: str, templates: str, timeout: str) -> GatewaySettings:
            return GatewaySettings(url=env.get(url) or None, token=env.get(token) or None,
                                   templates=tuple(sorted(_mapping(env, templates).items())),
                                   timeout_s=_float(env, timeout, 5.0))

        return cls(
            sms=gateway("SMS_GATEWAY_URL", "SMS_GATEWAY_TOKEN", "SMS_TEMPLATES",
                        "SMS_GATEWAY_TIMEOUT_SECONDS"),
            zalo=gateway("ZALO_GATEWAY_URL", "ZALO_GATEWAY_TOKEN", "ZALO_TEMPLATES",
                         "ZALO_GATEWAY_TIMEOUT_SECONDS"),
            retry_base_s=_float(env, "NOTIFY_RETRY_BASE_SECONDS", cls.retry_base_s),
            retry_max_s=_float(env, "NOTIFY_RETRY_MAX_SECONDS", cls.retry_max_s),
            give_up_after_s=_float(env, "NOTIFY_GIVE_UP_SECONDS", cls.give_up_after_s),
            quiet_start_hour=_int(env, "SMS_QUIET_START_HOUR", cls.quiet_start_hour),
            quiet_end_hour=_int(env, "SMS_QUIET_END_HOUR", cls.quiet_end_hour),
            batch_size=_int(env, "NOTIFY_BATCH_SIZE", cls.batch_size),
            idle_s=_float(env, "NOTIFY_IDLE_SECONDS", cls.idle_s),
            idle_max_s=_float(env, "NOTIFY_IDLE_MAX_SECONDS", cls.idle_max_s),
        )


NOTIFY_VARIABLES = ("SMS_GATEWAY_URL", "SMS_GATEWAY_TOKEN", "SMS_TEMPLATES",
                    "SMS_GATEWAY_TIMEOUT_SECONDS", "ZALO_GATEWAY_URL", "ZALO_GATEWAY_TOKEN",
                    "ZALO_TEMPLATES", "ZALO_GATEWAY_TIMEOUT_SECONDS", "NOTIFY_RETRY_BASE_SECONDS",
                    "NOTIFY_RETRY_MAX_SECONDS", "NOTIFY_GIVE_UP_SECONDS", "SMS_QUIET_START_HOUR",
                    "SMS_QUIET_END_HOUR", "NOTIFY_BATCH_SIZE", "NOTIFY_IDLE_SECONDS",
                    "NOTIFY_IDLE_MAX_SECONDS")


@dataclass(frozen=True)
class Settings:
    env: str = "embedded"
    host: str = setting("127.0.0.1", "HOST")
    intake_port: int = setting(8000, "INTAKE_PORT", parse=_int)
    classifier_port: int = setting(8001, "CLASSIFIER_PORT", parse=_int)
    tracker_port: int = setting(8002, "TRACKER_PORT", parse=_int)
    kafka_bootstrap: str = setting("127.0.0.1:9092", "KAFKA_BOOTSTRAP")
    kafka_client_id: str = setting("1022", "KAFKA_CLIENT_ID")
    # SASL_SSL + SCRAM-SHA-512 in Kubernetes (Strimzi KafkaUser per service); PLAINTEXT locally
    kafka_security_protocol: str = setting("PLAINTEXT", "KAFKA_SECURITY_PROTOCOL")
    kafka_sasl_mechanism: str = setting("SCRAM-SHA-512", "KAFKA_SASL_MECHANISM")
    kafka_username: str | None = setting(None, "KAFKA_USERNAME", parse=_optional)
    kafka_password: str | None = setting(None, "KAFKA_PASSWORD", parse=_optional)
    kafka_ca_file: str | None = setting(None, "KAFKA_CA_FILE", parse=_optional)
    kafka_create_topics: bool = setting(True, "KAFKA_CREATE_TOPICS",
                                        parse=_flag_off_when("false"))
    mongo_uri: str = setting(
        "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false"
        "&serverMonitoringMode=poll", "MONGO_URI",
        production=_mongo_uri_in_production)
    mongo_db: str = setting("hotline1022", "MONGO_DB")
    # every store operation gives up after this (pymongo timeoutMS): a store outage is
    # answered with 503 in bounded time instead of a hang
    mongo_timeout_ms: int = setting(3000, "MONGO_TIMEOUT_MS", parse=_int)
    mongo_server_selection_ms: int = setting(2000, "MONGO_SERVER_SELECTION_MS", parse=_int)
    # the tracker encrypts the staff's alert e-mail addresses (issue 20)
    pii_keys: tuple[str, ...] = setting((DEV_PII_KEY,), "PII_KEYS", parse=_list,
                                        used_by=(INTAKE, TRACKER), production_default=(),
                                        production=_pii_keys_in_production)
    open311_api_keys: tuple[str, ...] = setting(("demo",), "OPEN311_API_KEYS", parse=_list,
                                                used_by=(INTAKE,), production_default=(),
                                                production=_no_demo("OPEN311_API_KEYS"))
    # the call-center channel: intake checks them, the tracker's console sends the first
    staff_api_keys: tuple[str, ...] = setting(("demo-operator",), "STAFF_API_KEYS",
                                              parse=_list, used_by=(INTAKE, TRACKER),
                                              production_default=(),
                                              production=_no_demo("STAFF_API_KEYS"))
    rate_limit_per_minute: int = setting(120, "RATE_LIMIT_PER_MINUTE", parse=_int,
                                         used_by=(INTAKE,))
    # every hit written to the store (else up to 5% of the limit counted in memory per worker)
    rate_limit_exact: bool = setting(False, "RATE_LIMIT_EXACT", parse=_flag_on_when("1", "true"),
                                     used_by=(INTAKE,))
    proxy_hops: int = setting(0, "PROXY_HOPS", parse=_int, used_by=(INTAKE,))
    max_json_body_bytes: int = setting(22 * 1024 * 1024, "MAX_JSON_BODY_BYTES", parse=_int,
                                       used_by=(INTAKE,))
    max_form_body_bytes: int = setting(1024 * 1024, "MAX_FORM_BODY_BYTES", parse=_int,
                                       used_by=(INTAKE,))
    max_photo_bytes: int = setting(5 * 1024 * 1024, "MAX_PHOTO_BYTES", parse=_int,
                                   used_by=(INTAKE,))
    tracking_prefix: str = setting("HCM", "TRACKING_PREFIX", used_by=(INTAKE,))
    timezone: str = setting("Asia/Ho_Chi_Minh", "TIMEZONE")
    service_area: tuple[float, float, float, float] = setting(
        (10.3, 106.3, 11.2, 107.1), "SERVICE_AREA", parse=_area, used_by=(INTAKE,))
    relay_batch_size: int = setting(500, "RELAY_BATCH_SIZE", parse=_int, used_by=(INTAKE,))
    relay_idle_seconds: float = setting(0.25, "RELAY_IDLE_SECONDS", parse=_float,
                                        used_by=(INTAKE,))
    # reports not confirmed downstream after this long are published again (a broker that
    # lost its memory gets them back)
    relay_grace_seconds: float = setting(60.0, "RELAY_GRACE_SECONDS", parse=_float,
                                         used_by=(INTAKE,))
    replay_window_hours: int = setting(72, "REPLAY_WINDOW_HOURS", parse=_int,
                                       used_by=(INTAKE,))
    public_base_url: str = setting("http://127.0.0.1:8000", "PUBLIC_BASE_URL",
                                   used_by=(INTAKE,), derived=_url_of("INTAKE_PORT", 8000))
    classifier_batch_size: int = setting(500, "CLASSIFIER_BATCH_SIZE", parse=_int,
                                         used_by=(CLASSIFIER,))
    # the shared consumer loop (shared/consumer): records per poll, and how long a poll waits
    consumer_batch_size: int = setting(500, "CONSUMER_BATCH_SIZE", parse=_int)
    consumer_poll_ms: int = setting(250, "CONSUMER_POLL_MS", parse=_int)
    # how long the broker may hold a fetch that has nothing yet (kafka-python's default, 500,
    # made each hop wait ~120 ms on the embedded broker; 100: ~26 ms, 10 empty fetches a second)
    consumer_fetch_max_wait_ms: int = setting(100, "CONSUMER_FETCH_MAX_WAIT_MS", parse=_int)
    # the same once a consumer has read nothing for CONSUMER_IDLE_AFTER_SECONDS: the embedded
    # broker looks for new records at half the wait, so the first record after a quiet spell
    # waits up to half of it a hop; idle consumers then ask once a second, not ten times
    # (README, "The fixed cost of a running stack")
    consumer_idle_fetch_max_wait_ms: int = setting(1000, "CONSUMER_IDLE_FETCH_MAX_WAIT_MS",
                                                   parse=_int)
    consumer_idle_after_seconds: float = setting(5.0, "CONSUMER_IDLE_AFTER_SECONDS",
                                                 parse=_float)
    # how often a process looks for a promotion
    classifier_model_check_seconds: float = setting(30.0, "CLASSIFIER_MODEL_CHECK_SECONDS",
                                                    parse=_float, used_by=(CLASSIFIER,))
    worker_metrics_port: int = setting(0, "WORKER_METRICS_PORT", parse=_int)
    group_commit: bool = setting(True, "GROUP_COMMIT", parse=_flag_off_when("0", "false", "no"),
                                 used_by=(INTAKE,))
    # signs a promoted model; a process loads from the store only what this key signed
    model_signing_key: str = setting(DEV_MODEL_SIGNING_KEY, "MODEL_SIGNING_KEY",
                                     parse=_optional, used_by=(CLASSIFIER,),
                                     production_default="",
                                     production=_model_signing_key_in_production)
    classifier_model_path: Path = setting(
        REPO_ROOT / "services" / "classifier" / "artifacts" / "model.joblib",
        "CLASSIFIER_MODEL", parse=_path, used_by=(CLASSIFIER,))
    tracker_config_dir: Path = setting(REPO_ROOT / "services" / "tracker" / "config",
                                       "TRACKER_CONFIG_DIR", parse=_path, used_by=(TRACKER,))
    staff_users_file: Path | None = setting(None, "STAFF_USERS_FILE", parse=_path,
                                            used_by=(TRACKER,),
                                            production=_staff_file_in_production)
    tracker_url: str = setting("http://127.0.0.1:8002", "TRACKER_URL", used_by=(INTAKE,),
                               derived=_url_of("TRACKER_PORT", 8002))
    tracker_service_token: str = setting(  # noqa: S105 - embedded default
        "demo-intake-service", "TRACKER_SERVICE_TOKEN", used_by=(INTAKE,),
        production_default="", production=_no_demo("TRACKER_SERVICE_TOKEN"))
    monitor_interval_seconds: float = setting(0.5, "MONITOR_INTERVAL_SECONDS", parse=_float,
                                              used_by=(TRACKER,))
    publisher_idle_seconds: float = setting(0.1, "PUBLISHER_IDLE_SECONDS", parse=_float,
                                            used_by=(TRACKER,))
    publisher_lease_seconds: float = setting(15.0, "PUBLISHER_LEASE_SECONDS", parse=_float,
                                             used_by=(TRACKER,))
    # live pages (issue 20): open Server-Sent Events streams per gunicorn worker; the tracker
    # runs that many gunicorn threads more than GUNICORN_THREADS, so pages never take the
    # threads of ordinary requests
    live_streams_per_worker: int = setting(200, "LIVE_STREAMS_PER_WORKER", parse=_int,
                                           used_by=(TRACKER,))
    # signs the web pages' session cookies (intake's resident pages, the tracker's staff pages)
    secret_key: str = setting(DEV_SECRET_KEY, "SECRET_KEY", parse=_optional,
                              used_by=(INTAKE, TRACKER), production_default="",
                              production=_secret_key_in_production)
    classifier_url: str = setting("http://127.0.0.1:8001", "CLASSIFIER_URL",
                                  used_by=(TRACKER,), derived=_url_of("CLASSIFIER_PORT", 8001))
    intake_url: str = setting("http://127.0.0.1:8000", "INTAKE_URL", used_by=(TRACKER,),
                              derived=_url_of("INTAKE_PORT", 8000))
    # a simulated clock shared by every process (`make simulate`); unset: the system clock
    clock_file: Path | None = setting(None, "CLOCK_FILE", parse=_path)
    # citizen notifications (issue 18): intake sends them, since it alone holds the contacts;
    # read by `NotifySettings.from_env` (variables: NOTIFY_VARIABLES)
    notify: NotifySettings = field(default_factory=lambda: NotifySettings())
    # keys the phone numbers' blind index: intake computes it, the tracker's operators search
    # with it (issue 20); the same value for both
    contact_index_key: str = setting(DEV_CONTACT_INDEX_KEY, "CONTACT_INDEX_KEY",
                                     parse=_optional, used_by=(INTAKE, TRACKER),
                                     production_default="",
                                     production=_contact_index_key_in_production)
    # the mail relay, one declaration for both senders: intake's citizen messages (issue 18)
    # and the tracker's staff alerts (issue 20); grouped as `Settings.smtp`
    smtp_host: str | None = setting(None, "SMTP_HOST", parse=_optional,
                                    used_by=(INTAKE, TRACKER))
    smtp_port: int = setting(587, "SMTP_PORT", parse=_int, used_by=(INTAKE, TRACKER))
    smtp_starttls: bool = setting(True, "SMTP_STARTTLS",
                                  parse=_flag_off_when("0", "false", "no"),
                                  used_by=(INTAKE, TRACKER))
    smtp_username: str | None = setting(None, "SMTP_USERNAME", parse=_optional,
                                        used_by=(INTAKE, TRACKER))
    smtp_password: str | None = setting(None, "SMTP_PASSWORD", parse=_optional,
                                        used_by=(INTAKE, TRACKER))
    smtp_ca_file: str | None = setting(None, "SMTP_CA_FILE", parse=_optional,
                                       used_by=(INTAKE, TRACKER))
    smtp_timeout_s: float = setting(10.0, "SMTP_TIMEOUT_SECONDS", parse=_float,
                                    used_by=(INTAKE, TRACKER))
    mail_from: str = setting("1022 <no-reply@1022.example>", "MAIL_FROM",
                             used_by=(INTAKE, TRACKER))

    @property
    def smtp(self) -> SmtpSettings:
        return SmtpSettings(host=self.smtp_host, port=self.smtp_port,
                            starttls=self.smtp_starttls, username=self.smtp_username,
                            password=self.smtp_password,
                            ca_file=self.smtp_ca_file, timeout_s=self.smtp_timeout_s,
                            mail_from=self.mail_from)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *,
                 service: str | None = None) -> Settings:
        """`service`: read only that service's settings (the others keep their defaults) and
        apply production's rules to those only."""
        env = os.environ if environ is None else environ
        app_env = env.get("APP_ENV", "embedded")
        if app_env not in {"embedded", "test", "production"}:
            raise SettingsError(f"APP_ENV must be embedded, test or production, got {app_env!r}")
        if service is not None and service not in SERVICES:
            raise SettingsError(f"unknown service {service!r}")
        production = app_env == "production"
        values: dict[str, Any] = {"env": app_env}
        for f in fields(cls):
            spec: Spec | None = f.metadata.get("spec")
            if spec is None:
                continue
            if service is not None and service not in spec.used_by:
                if production and spec.production_default is not _SAME:
                    values[f.name] = spec.production_default  # never a development secret
                continue
            default = f.default
            if production and spec.production_default is not _SAME:
                default = spec.production_default
            if spec.derived is not None and not env.get(spec.env):
                values[f.name] = spec.derived(env, values)
            else:
                values[f.name] = spec.parse(env, spec.env, default)
            if production and spec.production is not None:
                problem = spec.production(values[f.name])
                if problem:
                    raise SettingsError(problem)
        if service in (None, "intake"):  # intake sends the citizens' messages (issue 18)
            values["notify"] = NotifySettings.from_env(env)
        return cls(**values)

    @classmethod
    def variables(cls, service: str) -> tuple[str, ...]:
        """The environment variables a service reads."""
        own = tuple(f.metadata["spec"].env for f in fields(cls)
                    if "spec" in f.metadata and service in f.metadata["spec"].used_by)
        return own + (NOTIFY_VARIABLES if service == "intake" else ())
