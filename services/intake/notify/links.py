"""Links in the messages: the tracking page, and a signed unsubscribe link per report."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from services.intake.notify.messages import Links

SALT = "1022-unsubscribe"
ANSWER_SALT = "1022-answer"


def unsubscribe_token(secret_key: str, report_id: str) -> str:
    return URLSafeSerializer(secret_key, salt=SALT).dumps(report_id)


def report_of_token(secret_key: str, token: str) -> str | None:
    try:
        value = URLSafeSerializer(secret_key, salt=SALT).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def answer_token(secret_key: str, report_id: str) -> str:
    """In the message that asks the citizen for information: opening it lets that browser
    answer without typing the key (it went to the citizen's own contact, as the key did)."""
    return URLSafeSerializer(secret_key, salt=ANSWER_SALT).dumps(report_id)


def report_of_answer_token(secret_key: str, token: str) -> str | None:
    try:
        value = URLSafeSerializer(secret_key, salt=ANSWER_SALT).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def links_for(*, base_url: str, secret_key: str, report_id: str, tracking_code: str,
              lang: str) -> Links:
    base = base_url.rstrip("/")
    suffix = "?lang=en" if lang == "en" else ""
    return Links(track=f"{base}/track/{tracking_code}{suffix}",
                 answer=f"{base}/track/{tracking_code}/answer/"
                        f"{answer_token(secret_key, report_id)}{suffix}",
                 unsubscribe=f"{base}/notifications/unsubscribe/"
                             f"{unsubscribe_token(secret_key, report_id)}{suffix}")
