"""Does underthesea help? Its word segmentation, and its `text_normalize` tone placement on the
marked view ("hoà" -> "hòa"), each trained and measured beside the default feature set on the
validation split and on the same split rewritten in old-style tone placement: accuracy,
macro-F1, and vectorising speed, in one run."""

from __future__ import annotations

import time

from sklearn.metrics import f1_score

from services.classifier.corpus import load_split
from services.classifier.model import build_category_head, build_features
from services.classifier.text import views

# new-style -> old-style tone placement (the forms text_normalize undoes)
OLD_STYLE = {"òa": "oà", "óa": "oá", "ỏa": "oả", "õa": "oã", "ọa": "oạ", "òe": "oè",
             "óe": "oé", "ỏe": "oẻ", "õe": "oẽ", "ọe": "oẹ", "ùy": "uỳ", "úy": "uý", "ủy": "uỷ",
             "ũy": "uỹ", "ụy": "uỵ"}


def old_style(text: str) -> str:
    for new, old in OLD_STYLE.items():
        text = text.replace(new, old).replace(new.capitalize(), old.capitalize())
    return text


def main() -> int:
    train, val = load_split("train"), load_split("validation")
    x_train = [views(r.text) for r in train]
    x_val = [views(r.text) for r in val]
    x_old = [views(old_style(r.text)) for r in val]
    truth = [r.category for r in val]
    changed = sum(a.marked != b.marked for a, b in zip(x_val, x_old, strict=True))
    print(f"validation reports with a word in old-style placement once rewritten: {changed}\n")
    print("| features | accuracy | macro-F1 | accuracy, old-style placement | "
          "macro-F1, old-style | vectorise reports/s |\n|---|---|---|---|---|---|")
    variants = [("folded + marked views only", {}),
                ("marked view through underthesea text_normalize", {"normalize_tones": True}),
                ("with underthesea word_tokenize", {"segment": True})]
    for name, options in variants:
        features = build_features(**options)
        head = build_category_head("logreg").fit(features.fit_transform(x_train),
                                                 [r.category for r in train])
        features.transform(x_val[:50])  # warm caches, as a running worker has them
        t0 = time.perf_counter()
        matrix = features.transform(x_val)
        rate = len(x_val) / (time.perf_counter() - t0)
        guess = head.predict(matrix)
        old = head.predict(features.transform(x_old))
        print(f"| {name} | {accuracy(guess, truth):.3f} | "
              f"{f1_score(truth, guess, average='macro'):.3f} | {accuracy(old, truth):.3f} | "
              f"{f1_score(truth, old, average='macro'):.3f} | {rate:,.0f} |")
    return 0


def accuracy(guess, truth) -> float:
    return sum(g == t for g, t in zip(guess, truth, strict=True)) / len(truth)


if __name__ == "__main__":
    raise SystemExit(main())
