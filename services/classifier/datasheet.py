"""Counts for the corpus datasheet: python -m services.classifier.datasheet"""

from __future__ import annotations

from collections import Counter

from services.classifier.corpus import load_split
from shared.taxonomy import CATEGORY_CODES

STYLES = ("diacritics", "no_diacritics", "teencode", "formal", "transcript", "english", "short")
LABELS = (*CATEGORY_CODES, "not_a_report")


def table(split: str) -> str:
    rows = load_split(split)
    if not rows:
        return ""
    by_cat = Counter(r.category for r in rows)
    by_cat_style = Counter((r.category, r.style) for r in rows)
    urgent = Counter(r.category for r in rows if r.urgent)
    named = Counter(r.category for r in rows if r.district)
    head = "| category | total | " + " | ".join(STYLES) + " | urgent | district named |"
    lines = [f"### {split}: {len(rows)} reports", "", head,
             "|" + "---|" * (len(STYLES) + 4)]
    for cat in LABELS:
        if not by_cat[cat]:
            continue
        cells = " | ".join(str(by_cat_style[(cat, s)]) for s in STYLES)
        lines.append(f"| {cat} | {by_cat[cat]} | {cells} | {urgent[cat]} | {named[cat]} |")
    totals = " | ".join(str(sum(1 for r in rows if r.style == s)) for s in STYLES)
    lines.append(f"| **all** | {len(rows)} | {totals} | {sum(urgent.values())} | "
                 f"{sum(named.values())} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print("\n\n".join(table(split) for split in ("train", "validation", "heldout",
                                                  "independent")))
