"""python -m shared.devstack run: the whole system on one machine (what `make run` does)."""

from shared.devstack.run import main

raise SystemExit(main())
