"""Links in the messages: the tracking page, and a signed unsubscribe link per report."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from services.intake.notify.messages import Links

SALT = "1022-unsubscribe"


def unsubscribe_token(secret_key: str, report_id: str) -> str:
    return URLSafeSerializer(secret_key, salt=SALT).dumps(report_id)


def report_of_token(secret_key: str, token: str) -> str | None:
    try:
        value = URLSafeSerializer(secret_key, salt=SALT).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def links_for(*, base_url: str, secret_key: str, report_id: str, tracking_code: str,
              lang: str) -> Links:
    base = base_url.rstrip("/")
    suffix = "?lang=en" if lang == "en" else ""
    return Links(track=f"{base}/track/{tracking_code}{suffix}",
                 unsubscribe=f"{base}/notifications/unsubscribe/"
                             f"{unsubscribe_token(secret_key, report_id)}{suffix}")
