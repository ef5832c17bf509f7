"""The independent checks, written by writers who wrote nothing the model trains or tunes on:
corpus/heldout (129 messages; `retrain` also guards on it) and corpus/independent (643
messages, a later set that nothing but this module reads). python -m services.classifier.heldout

- urgent recall on life-safety reports (urgent.*.jsonl), urgent precision on those mixed
  with ordinary reports (ordinary.*, english.*), with the danger cues alone beside;
- out-of-scope messages (out_of_scope.*) auto-routed: the target is none;
- category accuracy and auto-route precision / coverage on the reports.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from services.classifier.corpus import CORPUS_DIR, Example, load_file
from services.classifier.model import NOT_A_REPORT, ReportClassifier
from shared.danger import detect

HELDOUT_DIR = CORPUS_DIR / "heldout"
# read by nothing that trains, tunes or guards a promotion: `retrain` skips it
INDEPENDENT_DIR = CORPUS_DIR / "independent"


def load_heldout(directory: Path = HELDOUT_DIR) -> dict[str, list[Example]]:
    slices: dict[str, list[Example]] = {}
    for path in sorted(directory.glob("*.jsonl")):
        slices.setdefault(path.name.split(".")[0], []).extend(load_file(path))
    return slices


def _share(flags: list[bool]) -> float:
    return sum(flags) / max(1, len(flags))


def measure_heldout(classifier: ReportClassifier,
                    slices: dict[str, list[Example]]) -> dict[str, Any]:
    reports = [e for name in ("urgent", "ordinary", "english") for e in slices.get(name, [])]
    chatter = slices.get("out_of_scope", [])
    predictions = classifier.predict([e.text for e in reports])
    cues = [detect(e.text).urgent for e in reports]
    truth = [e.urgent for e in reports]
    said = [p.urgent for p in predictions]

    def recall(guess: list[bool]) -> float:
        return sum(g and t for g, t in zip(guess, truth, strict=True)) / max(1, sum(truth))

    def precision(guess: list[bool]) -> float:
        return sum(g and t for g, t in zip(guess, truth, strict=True)) / max(1, sum(guess))

    auto = [i for i, p in enumerate(predictions) if not p.needs_triage]
    right = [p.category == e.category for p, e in zip(predictions, reports, strict=True)]
    chatter_predictions = classifier.predict([e.text for e in chatter])
    return {
        "reports_n": len(reports), "life_safety_n": sum(truth), "out_of_scope_n": len(chatter),
        "urgent_recall": recall(said), "urgent_precision": precision(said),
        "cues_only_urgent_recall": recall(cues), "cues_only_urgent_precision": precision(cues),
        "category_accuracy": sum(right) / max(1, len(reports)),
        "category_accuracy_vietnamese": _share([r for r, e in zip(right, reports, strict=True)
                                                if e.style != "english"]),
        "category_accuracy_english": _share([r for r, e in zip(right, reports, strict=True)
                                             if e.style == "english"]),
        "auto_route_precision": sum(right[i] for i in auto) / max(1, len(auto)),
        "auto_route_coverage": len(auto) / max(1, len(reports)),
        "out_of_scope_auto_routed": sum(not p.needs_triage for p in chatter_predictions),
        "out_of_scope_marked_not_a_report": sum(p.outcome == NOT_A_REPORT
                                                for p in chatter_predictions),
        "missed_urgent": [e.id for e, p in zip(reports, predictions, strict=True)
                          if e.urgent and not p.urgent],
        "false_urgent": [e.id for e, p in zip(reports, predictions, strict=True)
                         if p.urgent and not e.urgent],
        "wrongly_auto_routed": [e.id for i, e in enumerate(reports) if i in auto and not right[i]],
    }


def render_heldout(metrics: dict[str, Any]) -> str:
    lines = ["| held-out measure | value |", "|---|---|"]
    for key, value in metrics.items():
        shown = f"{value:.3f}" if isinstance(value, float) else (
            ", ".join(value) or "—" if isinstance(value, list) else str(value))
        lines.append(f"| {key} | {shown} |")
    return "\n".join(lines)


def main() -> int:
    from services.classifier.train import load
    from shared.settings import Settings

    classifier = load(Settings.from_env().classifier_model_path)
    print(f"model {classifier.version}")
    for directory in (HELDOUT_DIR, INDEPENDENT_DIR):
        print(f"\n{directory.name}/\n")
        print(render_heldout(measure_heldout(classifier, load_heldout(directory))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
