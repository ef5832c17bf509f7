"""A promoted model is unpickled only when MODEL_SIGNING_KEY signed it: write access to the
store alone must not run code in the classifier (real embedded store)."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime

import gridfs
import pytest

from services.classifier import registry
from services.classifier.retrain import serving_model
from shared.settings import DEV_MODEL_SIGNING_KEY

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


class _Payload:
    """Unpickling this creates a file: the stand-in for an attacker's code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _plant(db, data: bytes, *, version: str, signature: str | None) -> None:
    file_id = gridfs.GridFS(db, collection=registry.BUCKET).put(data, filename=f"{version}.joblib")
    entry = {"version": version, "file_id": file_id, "metrics": {}, "promoted_at": NOW}
    if signature is not None:
        entry["signature"] = signature
    db[registry.VERSIONS].insert_one(entry)


@pytest.mark.parametrize("signature", [None, "0" * 64, "signed-under-another-key"])
def test_a_planted_pickle_is_never_unpickled(db, classifier, tmp_path, signature):
    marker = tmp_path / "pwned"
    data = pickle.dumps(_Payload(str(marker)))
    if signature == "signed-under-another-key":
        signature = registry.signature(key="x" * 40, version="m-evil", data=data)
    _plant(db, data, version="m-evil", signature=signature)
    refused = registry.UNTRUSTED._value.get()

    holder = registry.ModelHolder(db=db, fallback=classifier, key=DEV_MODEL_SIGNING_KEY,
                                  interval=0)
    assert holder.refresh() is False
    assert holder.current() is classifier
    with pytest.raises(registry.UntrustedModel):
        serving_model(db=db, artifact=tmp_path / "unused.joblib", key=DEV_MODEL_SIGNING_KEY)

    assert not marker.exists()
    assert holder.refused == {"m-evil"}
    assert registry.UNTRUSTED._value.get() == refused + 2  # the holder's look and the CLI's


def test_a_signed_promotion_loads_and_a_swapped_artifact_does_not(db, classifier):
    version = registry.publish(db=db, classifier=classifier, metrics={}, now=NOW,
                               key=DEV_MODEL_SIGNING_KEY)
    entry = registry.current_version(db=db)
    loaded = registry.load_version(db=db, entry=entry, key=DEV_MODEL_SIGNING_KEY)
    assert loaded.version == version

    with pytest.raises(registry.UntrustedModel):  # right bytes, another key
        registry.load_version(db=db, entry=entry, key="k" * 40)
    # a signed artifact relabelled as another version does not check either
    with pytest.raises(registry.UntrustedModel):
        registry.load_version(db=db, entry={**entry, "version": "m-other"},
                              key=DEV_MODEL_SIGNING_KEY)



def test_prune_keeps_the_newest_promotions_and_deletes_the_rest(db, classifier):
    from datetime import timedelta

    for day in range(5):
        model = copy.copy(classifier)
        model.version = f"m-day{day}"
        registry.publish(db=db, classifier=model, metrics={}, now=NOW + timedelta(days=day),
                         key=DEV_MODEL_SIGNING_KEY)
    assert registry.prune(db=db, keep=2) == ["m-day2", "m-day1", "m-day0"]
    kept = [e["version"] for e in db[registry.VERSIONS].find({}, sort=[("promoted_at", 1)])]
    assert kept == ["m-day3", "m-day4"]
    assert db[f"{registry.BUCKET}.files"].count_documents({}) == 2
    assert registry.current_version(db=db)["version"] == "m-day4"
    assert registry.prune(db=db, keep=0) == ["m-day3"]  # the current one always stays
    assert registry.load_version(db=db, entry=registry.current_version(db=db),
                                 key=DEV_MODEL_SIGNING_KEY).version == "m-day4"
