"""Request and response models of the reports API; the OpenAPI document is generated from them."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.blind_index import normalise_phone as canonical_phone
from shared.limits import (
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    RATING_COMMENT_MAX,
    RATING_SCORE_MAX,
    RATING_SCORE_MIN,
    REOPEN_REASON_MAX,
    REOPEN_REASON_MIN,
    REPLY_PHOTOS_MAX,
    REPLY_TEXT_MAX,
)
from shared.redact import redact_contacts
from shared.taxonomy import CATEGORY_CODES, DISTRICT_CODES

CategoryCode = Literal[CATEGORY_CODES]  # type: ignore[valid-type]
DistrictCode = Literal[DISTRICT_CODES]  # type: ignore[valid-type]
Channel = Literal["web", "app", "call_center"]
NotifyChannel = Literal["email", "sms", "zalo"]
Language = Literal["vi", "en"]

# what XML 1.0 cannot carry (and no one types): C0 controls but tab/newline/CR, DEL, C1 controls,
# lone surrogates (a JSON "\\ud800" escape) and the two non-characters U+FFFE/U+FFFF
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_IDENT = r"^[A-Za-z0-9._:-]{1,64}$"

STRICT = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


def clean_text(value: str) -> str:
    """NFC, no control characters, surrounding whitespace removed."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", value)).strip()


def strip_control(value: object) -> object:
    """Control characters removed from any text, before any other check sees it."""
    return _CONTROL.sub("", value) if isinstance(value, str) else value


class TextInput(BaseModel):
    """Base of every input model: no field keeps a control character (they would break the
    Open311 XML feed for every reader, and mean nothing in a report)."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_control(cls, v: object) -> object:
        return strip_control(v)


def normalise_phone(value: str) -> str:
    """Vietnamese phone numbers in any usual spelling -> +84XXXXXXXXX (ASCII digits only)."""
    number = canonical_phone(value)
    if number is None:
        raise ValueError("not a Vietnamese phone number (e.g. 0901234567 or +84901234567)")
    return number


def check_email(value: str) -> str:
    if not _EMAIL.match(value) or len(value) > 254:
        raise ValueError("not an email address")
    return value.lower()


def check_description(value: str) -> str:
    """The description once cleaned; its errors carry a type the pages translate by."""
    value = clean_text(value)
    if len(value) < DESCRIPTION_MIN:
        raise PydanticCustomError("description_too_short",
                                  "must be at least {min} characters", {"min": DESCRIPTION_MIN})
    if len(value) > DESCRIPTION_MAX:
        raise PydanticCustomError("description_too_long",
                                  "must be at most {max} characters", {"max": DESCRIPTION_MAX})
    return value


def check_in_area(lat: float | None, long: float | None, info: ValidationInfo) -> None:
    if (lat is None) != (long is None):
        raise ValueError("lat and long go together")
    area = (info.context or {}).get("service_area")
    if lat is None or long is None or area is None:
        return
    min_lat, min_long, max_lat, max_long = area
    if not (min_lat <= lat <= max_lat and min_long <= long <= max_long):
        raise ValueError("the location is outside the city's service area")


class Reporter(TextInput):
    """Who filed the report. Everything here is personal data: encrypted at rest."""

    model_config = STRICT
    name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    phone: Annotated[str, Field(max_length=32, examples=["0901234567"])] | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    consent_to_notify: Annotated[bool, Field(description=(
        "The citizen agrees to receive news about this report (received, sent to a "
        "department, information asked, resolved, reopened) at the contacts given. Each "
        "message carries a link to stop them."))] = False
    notify_by: Annotated[list[NotifyChannel], Field(max_length=3, description=(
        "Channels for the news; by default email when an email is given and sms when a "
        "phone number is"))] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return clean_text(v) or None if v is not None else None

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return normalise_phone(v) if v is not None else None

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return check_email(v) if v is not None else None


class CallDetails(TextInput):
    """Added by the call-center console: who took the call and from which number."""

    model_config = STRICT
    operator_id: Annotated[str, Field(pattern=_IDENT)]
    call_id: Annotated[str, Field(pattern=_IDENT)]
    caller_phone: Annotated[str, Field(max_length=32)]

    @field_validator("caller_phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        return normalise_phone(v)


class PhotoIn(TextInput):
    model_config = STRICT
    filename: Annotated[str, Field(max_length=200)] | None = None
    content_base64: Annotated[str, Field(min_length=4, max_length=7_000_000,
                                         description="JPEG or PNG, at most 5 MB decoded")]


class ReportIn(TextInput):
    """A citizen report as the web page, the app or the call-center console sends it."""

    model_config = STRICT
    channel: Channel
    description: Annotated[str, Field(min_length=DESCRIPTION_MIN, max_length=DESCRIPTION_MAX * 2,
                                      description="Vietnamese text, 10 to 4,000 characters")]
    category_hint: CategoryCode | None = None
    district: DistrictCode | None = None
    address: Annotated[str, Field(max_length=300)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    long: Annotated[float, Field(ge=-180, le=180)] | None = None
    reporter: Reporter | None = None
    call: CallDetails | None = None
    photos: Annotated[list[PhotoIn], Field(max_length=3)] = []
    language: Annotated[Language, Field(description="The language of the messages sent to "
                                                   "the citizen")] = "vi"

    @field_validator("description")
    @classmethod
    def _description(cls, v: str) -> str:
        return check_description(v)

    @field_validator("address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        return clean_text(v) or None if v is not None else None

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> ReportIn:
        check_in_area(self.lat, self.long, info)
        if self.channel == "call_center" and self.call is None:
            raise ValueError("call is required on the call_center channel")
        if self.channel != "call_center" and self.call is not None:
            raise ValueError("call is only for the call_center channel")
        self.notify_channels()
        return self

    def notify_channels(self) -> list[str]:
        """The channels the citizen agreed to be told on (empty without consent)."""
        reporter = self.reporter
        if reporter is None or not reporter.consent_to_notify:
            if reporter is not None and reporter.notify_by:
                raise PydanticCustomError(
                    "notify_consent", "reporter.notify_by needs reporter.consent_to_notify")
            return []
        phone = reporter.phone or (self.call.caller_phone if self.call else None)
        has = {"email": bool(reporter.email), "sms": bool(phone), "zalo": bool(phone)}
        if not reporter.notify_by:
            chosen = [c for c in ("email", "sms") if has[c]]
            if not chosen:
                raise PydanticCustomError(
                    "notify_contact",
                    "reporter.consent_to_notify needs an email or a phone number")
            return chosen
        for channel in reporter.notify_by:
            if not has[channel]:
                raise PydanticCustomError(
                    "notify_contact", "reporter.notify_by {channel} needs {what}",
                    {"channel": channel,
                     "what": "an email" if channel == "email" else "a phone number"})
        return list(dict.fromkeys(reporter.notify_by))


class EmergencyGuidance(BaseModel):
    """Shown when the text reads as danger to life: call the emergency service now."""
    call_now: Annotated[list[str], Field(examples=[["114"]],
                                         description="114 fire/rescue, 115 ambulance, 113 police")]
    numbers: dict[str, dict[str, str]]
    vi: str
    en: str


class ReportCreated(BaseModel):
    report_id: str
    tracking_code: Annotated[str, Field(examples=["HCM-2026-000123"])]
    citizen_key: Annotated[str | None, Field(
        examples=["K7MQ4XZP"],
        description="Secret for the person who filed the report: rating and reopening need "
                    "it. Shown once; keep it with the tracking code.")]
    status: str
    submitted_at: datetime
    tracking_url: str
    emergency: EmergencyGuidance | None = None


class PublicNote(BaseModel):
    at: datetime
    text: str


class ReportStatus(BaseModel):
    """What anyone holding the tracking code may see: no personal data, no description."""

    tracking_code: str
    status: str
    status_label: str
    service_code: str | None
    agency_responsible: str | None
    district: str | None
    submitted_at: datetime
    updated_at: datetime
    expected_datetime: datetime | None
    public_notes: list[PublicNote]
    duplicate_of: str | None
    rating: int | None
    can_rate: bool
    can_reopen: bool


CitizenKey = Annotated[str, StringConstraints(min_length=1, max_length=40), Field(
    description="The citizen_key given when the report was filed")]


class CitizenRatingIn(TextInput):
    model_config = ConfigDict(extra="forbid", strict=True)
    citizen_key: CitizenKey
    score: Annotated[int, Field(ge=RATING_SCORE_MIN, le=RATING_SCORE_MAX)]
    comment: Annotated[str, StringConstraints(strip_whitespace=True,
                                              max_length=RATING_COMMENT_MAX)] | None \
        = None

    @field_validator("comment")
    @classmethod
    def _masked(cls, v: str | None) -> str | None:
        return redact_contacts(clean_text(v)) or None if v is not None else None


class CitizenReopenIn(TextInput):
    model_config = ConfigDict(extra="forbid", strict=True)
    citizen_key: CitizenKey
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=REOPEN_REASON_MIN,
                                             max_length=REOPEN_REASON_MAX)]

    @field_validator("reason")
    @classmethod
    def _masked(cls, v: str) -> str:
        return redact_contacts(clean_text(v))


class CitizenReplyIn(TextInput):
    """The citizen's answer when the handler asked for information (status waiting_citizen):
    text, photos, or both."""

    model_config = ConfigDict(extra="forbid", strict=True)
    citizen_key: CitizenKey
    text: Annotated[str, StringConstraints(strip_whitespace=True,
                                           max_length=REPLY_TEXT_MAX)] | None = None
    photos: Annotated[list[PhotoIn], Field(max_length=REPLY_PHOTOS_MAX)] = []

    @field_validator("text")
    @classmethod
    def _masked(cls, v: str | None) -> str | None:
        return redact_contacts(clean_text(v)) or None if v is not None else None

    @model_validator(mode="after")
    def _something(self) -> CitizenReplyIn:
        if not self.text and not self.photos:
            raise ValueError("text: write an answer or attach a photo")
        return self


class CitizenActionOut(BaseModel):
    tracking_code: str
    status: str | None
    rating: int | None
