from __future__ import annotations

from services.classifier.model import ReportClassifier


def new_worker(settings, classifier: ReportClassifier, db, group_id: str | None = None):
    """A worker in a consumer group of its own, so tests do not share offsets."""
    import uuid

    from services.classifier.worker import ClassifierWorker

    return ClassifierWorker(settings=settings, classifier=classifier, db=db,
                            group_id=group_id or f"classifier-{uuid.uuid4().hex[:6]}")
