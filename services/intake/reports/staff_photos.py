"""/api/v1/staff/reports/<report_id>/photos: the report's photos for staff pages, asked by
the tracker's server with the staff API key (the tracker checks the viewer's right to the
ticket first). The public API never serves photos. EXIF was removed at upload; thumbnails are
made here so that lists never carry 5 MB originals."""

from __future__ import annotations

import io

from bson import ObjectId
from flask import Blueprint, Response, jsonify, request
from PIL import Image, ImageOps

from services.intake.deps import deps
from services.intake.store import PHOTOS
from shared.crypto import PiiDecryptionError
from shared.web.problems import Problem, validation_problem

bp = Blueprint("staff_photos", __name__, url_prefix="/api/v1/staff/reports")
THUMB_PX = 320


@bp.before_request
def _staff_only() -> None:
    if request.headers.get("X-API-Key") not in deps().settings.staff_api_keys:
        raise Problem(401, "Unauthorized", "A staff API key is needed.", kind="unauthorized",
                      errors=[{"field": "X-API-Key", "message": "missing or unknown key"}])


def _oid(value: str, name: str) -> ObjectId:
    if not ObjectId.is_valid(value):
        raise validation_problem([{"field": name, "message": "not an id"}], status=400)
    return ObjectId(value)


@bp.get("/<report_id>/photos")
def list_photos(report_id: str) -> Response:
    docs = deps().db[PHOTOS].find({"report_id": _oid(report_id, "report_id")},
                                  {"data": 0}).sort("_id", 1)
    return jsonify(items=[{"id": str(d["_id"]), "source": d.get("source", "report"),
                           "content_type": d["content_type"], "size": d.get("size"),
                           "stored_at": d.get("stored_at")} for d in docs])


def thumbnail(data: bytes, px: int = THUMB_PX) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        small = ImageOps.exif_transpose(image) or image
        small = small.convert("RGB")
        small.thumbnail((px, px))
        out = io.BytesIO()
        small.save(out, format="JPEG", quality=80)
        return out.getvalue()


@bp.get("/<report_id>/photos/<photo_id>")
def get_photo(report_id: str, photo_id: str) -> Response:
    d = deps()
    doc = d.db[PHOTOS].find_one({"_id": _oid(photo_id, "photo_id"),
                                 "report_id": _oid(report_id, "report_id")})
    if doc is None:
        raise Problem(404, "Not Found", "No such photo of this report.", kind="not-found")
    data = bytes(doc["data"])
    if doc.get("encrypted"):
        try:
            data = d.cipher.decrypt_bytes(data)
        except PiiDecryptionError:
            raise Problem(500, "Unreadable", "The photo cannot be decrypted with the "
                          "configured keys.", kind="undecryptable") from None
    size = request.args.get("size", "full")
    if size not in {"full", "thumb"}:
        raise validation_problem([{"field": "size", "message": "full or thumb"}], status=400)
    mimetype = doc["content_type"]
    if size == "thumb":
        data, mimetype = thumbnail(data), "image/jpeg"
    response = Response(data, mimetype=mimetype)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
