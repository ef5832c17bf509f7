"""python -m services.classifier init-db | train | retrain | evaluate | predict | serve |
worker"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from shared.service_main import configure_logging, exec_gunicorn, load_settings, stop_on_signals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.classifier")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init-db", help="create the classifier's MongoDB indexes (idempotent)")
    train_p = sub.add_parser("train", help="train the model from the corpus")
    train_p.add_argument("--with-corrections", action="store_true",
                         help="add handlers' re-routings stored in MongoDB")
    train_p.add_argument("--head", choices=["auto", "logreg", "svm"], default="auto")
    train_p.add_argument("--folds", type=int, default=5,
                         help="folds of the out-of-fold predictions the thresholds are chosen on")
    train_p.add_argument("--if-missing", action="store_true",
                         help="do nothing when a model artifact exists")
    retrain_p = sub.add_parser(
        "retrain", help="train a candidate on corpus + corrections; promote it to the store "
                        "only if no guarded figure gets worse")
    retrain_p.add_argument("--head", choices=["auto", "logreg", "svm"], default="auto")
    retrain_p.add_argument("--folds", type=int, default=5,
                           help="folds of the out-of-fold predictions the thresholds are chosen on")
    eval_p = sub.add_parser("evaluate", help="measure the model on labelled JSON Lines")
    eval_p.add_argument("--data", type=Path, required=True)
    sub.add_parser("predict", help="JSON Lines {id, text} on stdin -> predictions on stdout")
    sub.add_parser("serve", help="HTTP API under gunicorn")
    sub.add_parser("worker", help="classify submitted reports from Kafka")
    args = parser.parse_args(argv)
    # a worker told to stop while it is still importing and loading the model stops cleanly
    # (the default SIGTERM action would kill it mid-start with status -15)
    stop = stop_on_signals() if args.command == "worker" else None

    from services.classifier import train as training

    settings = load_settings("classifier")
    model_path = settings.classifier_model_path
    if args.command == "init-db":
        from services.classifier.registry import init_db
        from shared.mongo import connect, database

        init_db(database(connect(settings), settings))
        print("classifier: indexes created")
        return 0
    if args.command == "train":
        from services.classifier.corpus import load_split

        if args.if_missing and model_path.exists():
            print("model artifact present; not retraining")
            return 0
        rows = load_split("train")
        if args.with_corrections:
            from services.classifier.corrections import load_corrections
            from shared.mongo import connect, database

            extra = load_corrections(db=database(connect(settings), settings))
            print(f"adding {len(extra)} corrections from handlers")
            rows += extra
        result = training.train(rows, load_split("validation"), head=args.head,
                                folds=args.folds)
        path = training.save(result, model_path)
        from services.classifier.evaluate import render

        version = result.report["version"]
        print(render(result.report["validation"], f"validation split, model {version}"))
        print(f"\nauto-route threshold {result.report['threshold']:.3f}; model written to {path}")
        return 0
    if args.command == "retrain":
        import json

        from services.classifier.retrain import retrain, serving_model
        from shared.clock import system_clock
        from shared.mongo import connect, database

        configure_logging()
        db = database(connect(settings), settings)
        key = settings.model_signing_key
        decision = retrain(db=db, baseline=serving_model(db=db, artifact=model_path, key=key),
                           now=system_clock(), key=key, head=args.head, folds=args.folds,
                           progress=True)
        print(json.dumps({"outcome": decision.outcome, "candidate": decision.candidate_version,
                          "baseline": decision.baseline_version,
                          "corrections": decision.corrections_n,
                          "regressions": decision.regressions}, ensure_ascii=False))
        return 0  # a refusal is a decision taken, not a failed job
    if args.command == "evaluate":
        from services.classifier.corpus import load_file
        from services.classifier.evaluate import evaluate, render

        classifier = training.load(model_path)
        print(render(evaluate(classifier, load_file(args.data)),
                     f"{args.data.name}, model {classifier.version}"))
        return 0
    if args.command == "predict":
        from services.classifier.predict import run

        stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
        return run(training.load(model_path), stdin, sys.stdout)
    configure_logging()
    if args.command == "serve":
        exec_gunicorn("services.classifier.app:create_app", port=settings.classifier_port,
                      settings=settings)
    elif args.command == "worker":
        from services.classifier.worker import run_worker

        assert stop is not None
        run_worker(settings, stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
