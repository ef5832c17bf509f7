"""The classifier: TF-IDF over both text views into calibrated linear heads for category and
urgency, rules for the district, routing from configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from services.classifier.districts import extract_district
from services.classifier.routing import Routing
from services.classifier.text import Views, fold, views

SEED = 1022
WORD_PATTERN = r"(?u)\b\w+\b"
MIN_LETTERS = 8  # fewer letters than this cannot be classified: straight to triage


def folded(items: list[Views]) -> list[str]:
    return [v.folded for v in items]


def marked(items: list[Views]) -> list[str]:
    return [v.marked for v in items]


def segmented(items: list[Views]) -> list[str]:
    """underthesea's word segmentation of the marked view ("lê_văn_sỹ"); measured, not used
    by default: see bench/classifier_features.py."""
    from underthesea import word_tokenize

    return [word_tokenize(v.marked, format="text") for v in items]


@lru_cache(maxsize=200_000)
def _tone_normalized_word(word: str) -> str:
    from underthesea import text_normalize

    fixed = text_normalize(word)
    # text_normalize also splits tokens ("9h40" -> "9 h40"); keep only its tone placement
    return fixed if len(fixed) == len(word) and fold(fixed) == fold(word) else word


def tone_normalized(items: list[Views]) -> list[str]:
    """The marked view with underthesea's tone placement ("hoà" -> "hòa", "thuý" -> "thúy"),
    word by word, cached: see bench/classifier_features.py for what it measures."""
    return [" ".join(_tone_normalized_word(w) for w in v.marked.split()) for v in items]


def build_features(*, segment: bool = False, normalize_tones: bool = False) -> FeatureUnion:
    marked_view = segmented if segment else tone_normalized if normalize_tones else marked
    return FeatureUnion([
        ("folded_words", Pipeline([
            ("view", FunctionTransformer(folded)),
            ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1,
                                      token_pattern=WORD_PATTERN)),
        ])),
        ("folded_chars", Pipeline([
            ("view", FunctionTransformer(folded)),
            ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                      min_df=2, max_features=300_000)),
        ])),
        ("marked_words", Pipeline([
            ("view", FunctionTransformer(marked_view)),
            ("tfidf", TfidfVectorizer(ngram_range=(1, 1), sublinear_tf=True, min_df=1,
                                      token_pattern=WORD_PATTERN)),
        ])),
    ])


def build_category_head(kind: str) -> Any:
    if kind == "svm":
        return CalibratedClassifierCV(LinearSVC(C=0.5, random_state=SEED), method="sigmoid", cv=5,
                                      ensemble=False)  # one SVM at predict time, not five
    return LogisticRegression(C=20.0, max_iter=3000, random_state=SEED)


def build_urgency_head() -> LogisticRegression:
    return LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced", random_state=SEED)


@dataclass
class Prediction:
    category: str
    confidence: float
    top3: list[tuple[str, float]]
    urgent: bool
    district: str | None
    needs_triage: bool
    department: str

    def as_dict(self) -> dict[str, Any]:
        return {"category": self.category, "confidence": round(self.confidence, 4),
                "top3": [[c, round(p, 4)] for c, p in self.top3], "urgent": self.urgent,
                "district": self.district, "needs_triage": self.needs_triage,
                "department": self.department}


@dataclass
class ReportClassifier:
    features: FeatureUnion
    category_head: Any
    urgency_head: LogisticRegression
    threshold: float
    urgent_threshold: float
    version: str
    routing: Routing
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return list(self.category_head.classes_)

    def vectorize(self, texts: list[str]) -> csr_matrix:
        return self.features.transform([views(t) for t in texts])

    def predict_vectors(self, matrix: csr_matrix, texts: list[str]) -> list[Prediction]:
        probabilities = self.category_head.predict_proba(matrix)
        urgent_p = self.urgency_head.predict_proba(matrix)[:, 1]
        labels = self.labels
        out = []
        for text, probs, urgent in zip(texts, probabilities, urgent_p, strict=True):
            order = np.argsort(probs)[::-1][:3]
            top3 = [(labels[i], float(probs[i])) for i in order]
            category, confidence = top3[0]
            district = extract_district(text)
            letters = sum(ch.isalpha() for ch in text[:4000])
            out.append(Prediction(
                category=category, confidence=confidence, top3=top3,
                urgent=bool(urgent >= self.urgent_threshold),
                district=district,
                needs_triage=confidence < self.threshold or letters < MIN_LETTERS,
                department=self.routing.department(category, district)))
        return out

    def predict(self, texts: list[str]) -> list[Prediction]:
        if not texts:
            return []
        return self.predict_vectors(self.vectorize(texts), texts)
