"""Does underthesea's word segmentation help? Both feature sets trained and measured side by
side on the validation split: accuracy, macro-F1, and vectorising speed."""

from __future__ import annotations

import time

from sklearn.metrics import f1_score

from services.classifier.corpus import load_split
from services.classifier.model import build_category_head, build_features
from services.classifier.text import views


def main() -> int:
    train, val = load_split("train"), load_split("validation")
    x_train = [views(r.text) for r in train]
    x_val = [views(r.text) for r in val]
    truth = [r.category for r in val]
    print("| features | accuracy | macro-F1 | vectorise reports/s |\n|---|---|---|---|")
    for segment in (False, True):
        features = build_features(segment=segment)
        head = build_category_head("logreg").fit(features.fit_transform(x_train),
                                                 [r.category for r in train])
        t0 = time.perf_counter()
        matrix = features.transform(x_val)
        rate = len(x_val) / (time.perf_counter() - t0)
        guess = head.predict(matrix)
        accuracy = sum(g == t for g, t in zip(guess, truth, strict=True)) / len(truth)
        name = "with underthesea word_tokenize" if segment else "folded + marked views only"
        print(f"| {name} | {accuracy:.3f} | {f1_score(truth, guess, average='macro'):.3f} | "
              f"{rate:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
