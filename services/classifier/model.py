"""The classifier: TF-IDF over both text views into calibrated linear heads for category and
urgency, rules for the district. Which department handles a report is the tracker's
decision (its routing table), not the classifier's."""

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
from services.classifier.text import Views, fold, views
from shared.danger import detect

SEED = 1022
WORD_PATTERN = r"(?u)\b\w+\b"
MIN_LETTERS = 8  # fewer letters than this cannot be classified: straight to triage
MIN_WORDS = 2  # nor can a single word
MIN_KNOWN = 0.34  # share of words the model has seen; below it the text is not read as a report
NOT_A_REPORT = "not_a_report"  # greetings, thanks, tests, mashing, ads, hotline questions
# Why a report waits for a person (Prediction.triage_reason)
TOO_SHORT, UNKNOWN_WORDS, LOW_CONFIDENCE = "too_short", "unknown_words", "low_confidence"


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
    category: str  # always one of the 17 taxonomy codes: the best one, even for chatter
    confidence: float
    top3: list[tuple[str, float]]
    urgent: bool
    district: str | None
    needs_triage: bool
    outcome: str = "routed"  # routed | needs_triage | not_a_report
    triage_reason: str | None = None  # not_a_report | too_short | unknown_words | ...
    danger: tuple[str, ...] = ()  # danger cues found (fire, gas, injury...)
    call_now: tuple[str, ...] = ()  # emergency numbers the resident should call

    def as_dict(self) -> dict[str, Any]:
        return {"category": self.category, "confidence": round(self.confidence, 4),
                "top3": [[c, round(p, 4)] for c, p in self.top3], "urgent": self.urgent,
                "district": self.district, "needs_triage": self.needs_triage,
                "outcome": self.outcome,
                "triage_reason": self.triage_reason, "danger": list(self.danger),
                "call_now": list(self.call_now)}


OPINION_RULES = ("min", "mean")  # how the two heads' probabilities for the category combine


def second_opinion(first: np.ndarray, second: np.ndarray | None,
                   columns: list[int], rule: str = "min") -> np.ndarray:
    """The score the auto-route threshold is compared with, per report: the first head's
    probability for its best category (among `columns`, the 17 codes) alone, or, with a second
    head, the lower (rule "min") or the mean (rule "mean") of the two heads' probabilities for
    that category, and 0 when the second head's own best category is another. Both heads were
    fitted on the same labels, so their columns are in the same order."""
    rows = np.arange(len(first))
    index = np.asarray(columns)
    best = index[first[:, index].argmax(axis=1)]
    if second is None:
        return first[rows, best]
    agree = index[second[:, index].argmax(axis=1)] == best
    pair = np.stack([first[rows, best], second[rows, best]])
    combined = pair.min(axis=0) if rule == "min" else pair.mean(axis=0)
    return np.where(agree, combined, 0.0)


def content_words(folded: str) -> list[str]:
    return [w for w in folded.split() if sum(c.isalpha() for c in w) >= 2]


@dataclass
class ReportClassifier:
    features: FeatureUnion
    category_head: Any
    urgency_head: LogisticRegression
    threshold: float
    urgent_threshold: float
    version: str
    metadata: dict[str, Any] = field(default_factory=dict)
    # A second model of another kind (logistic regression beside the SVM): a report is routed
    # without a human only when it agrees, and the two probabilities for the category,
    # combined by `opinion_rule`, are what the threshold is compared with (both chosen on
    # out-of-fold predictions of the training reports, train.cross_fit).
    second_head: Any = None
    opinion_rule: str = "min"

    @property
    def labels(self) -> list[str]:
        return list(self.category_head.classes_)

    def vectorize(self, texts: list[str]) -> csr_matrix:
        return self.features.transform([views(t) for t in texts])

    def _vocabulary(self) -> dict[str, int]:
        return self.features.transformer_list[0][1].named_steps["tfidf"].vocabulary_

    def second_opinion_proba(self, matrix: csr_matrix) -> np.ndarray | None:
        second = getattr(self, "second_head", None)  # models pickled before it existed
        return None if second is None else second.predict_proba(matrix)

    def predict_vectors(self, matrix: csr_matrix, texts: list[str],
                        folded: list[str] | None = None) -> list[Prediction]:
        probabilities = self.category_head.predict_proba(matrix)
        urgent_p = self.urgency_head.predict_proba(matrix)[:, 1]
        labels = self.labels
        real = [i for i, label in enumerate(labels) if label != NOT_A_REPORT]
        routing_scores = second_opinion(probabilities, self.second_opinion_proba(matrix), real,
                                        getattr(self, "opinion_rule", "min"))
        chatter = labels.index(NOT_A_REPORT) if NOT_A_REPORT in labels else None
        vocabulary = self._vocabulary()
        folded = folded if folded is not None else [views(t).folded for t in texts]
        out = []
        for text, probs, score, urgent, flat in zip(texts, probabilities, routing_scores,
                                                    urgent_p, folded, strict=True):
            order = sorted(real, key=lambda i: -probs[i])[:3]
            top3 = [(labels[i], float(probs[i])) for i in order]
            category, confidence = top3[0]
            district = extract_district(text)
            danger = detect(text)
            words = content_words(flat)
            known = sum(w in vocabulary for w in words) / max(1, len(words))
            letters = sum(ch.isalpha() for ch in text)
            is_chatter = chatter is not None and int(np.argmax(probs)) == chatter
            reason = None
            if is_chatter and not danger.urgent:
                reason = NOT_A_REPORT
            elif letters < MIN_LETTERS or len(words) < MIN_WORDS:
                reason = TOO_SHORT
            elif known < MIN_KNOWN and not danger.urgent:
                reason = UNKNOWN_WORDS
            elif score < self.threshold:
                reason = LOW_CONFIDENCE
            outcome = ("routed" if reason is None else
                       NOT_A_REPORT if reason == NOT_A_REPORT else "needs_triage")
            is_urgent = danger.urgent or (bool(urgent >= self.urgent_threshold)
                                          and reason not in (NOT_A_REPORT, UNKNOWN_WORDS))
            out.append(Prediction(
                category=category, confidence=confidence, top3=top3,
                urgent=is_urgent, district=district, needs_triage=reason is not None,
                outcome=outcome,
                triage_reason=reason, danger=danger.kinds, call_now=danger.numbers))
        return out

    def predict(self, texts: list[str]) -> list[Prediction]:
        if not texts:
            return []
        seen = [views(t) for t in texts]
        return self.predict_vectors(self.features.transform(seen), texts,
                                    [v.folded for v in seen])
