from __future__ import annotations

from pathlib import Path

import pytest

from services.classifier.corpus import load_split
from services.classifier.model import ReportClassifier
from services.classifier.train import save, train


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained from the repo's corpus, saved where only the tests look."""
    result = train(load_split("train"), load_split("validation"), progress=False)
    return save(result, tmp_path_factory.mktemp("model") / "model.joblib")


@pytest.fixture(scope="session")
def classifier(model_path: Path) -> ReportClassifier:
    from services.classifier.train import load

    return load(model_path)


def new_worker(settings, classifier: ReportClassifier, db):
    """A worker in a consumer group of its own, so tests do not share offsets."""
    import uuid

    from services.classifier.worker import ClassifierWorker

    return ClassifierWorker(settings=settings, classifier=classifier, db=db,
                            group_id=f"classifier-{uuid.uuid4().hex[:6]}")
