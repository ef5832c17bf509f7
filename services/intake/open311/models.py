"""Open311 GeoReport v2 request models (form-encoded, as the specification says)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from services.intake.reports.models import (
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    CategoryCode,
    TextInput,
    check_description,
    check_email,
    check_in_area,
    clean_text,
    normalise_phone,
)

Text = Annotated[str, Field(max_length=120)]


class Open311RequestIn(TextInput):
    """POST requests.json|xml. Location: lat and long, or address_string, is required."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    api_key: Annotated[str, Field(min_length=1, max_length=128)]
    jurisdiction_id: Text | None = None
    service_code: CategoryCode | None = Field(
        None, description="Leave out to let the classifier choose the category")
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    long: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None
    address_string: Annotated[str, Field(max_length=300)] | None = None
    address_id: Text | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    device_id: Text | None = None
    account_id: Text | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    phone: Annotated[str, Field(max_length=32)] | None = None
    description: Annotated[str, Field(min_length=DESCRIPTION_MIN, max_length=DESCRIPTION_MAX * 2)]
    media_url: Annotated[str, Field(max_length=2000, pattern=r"^https?://\S+$")] | None = None

    @field_validator("description")
    @classmethod
    def _description(cls, v: str) -> str:
        return check_description(v)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return normalise_phone(v) if v else None

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return check_email(v) if v else None

    @field_validator("address_string", "first_name", "last_name")
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        return clean_text(v) or None if v is not None else None

    @model_validator(mode="after")
    def _location(self, info: ValidationInfo) -> Open311RequestIn:
        check_in_area(self.lat, self.long, info)
        if self.lat is None and not self.address_string and not self.address_id:
            raise ValueError("a location is required: lat and long, or address_string")
        return self

    @property
    def full_name(self) -> str | None:
        name = " ".join(p for p in (self.last_name, self.first_name) if p)
        return name or None


class ServiceOut(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class ServiceRequestOut(BaseModel):
    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str | None
    service_code: str | None
    description: str
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class RequestCreatedOut(BaseModel):
    service_request_id: str
    token: str
    service_notice: str | None
    account_id: str | None


class TokenOut(BaseModel):
    service_request_id: str
    token: str
