"""`python -m secantus` with its TTL sweeper off, for the test suite's store.

SecantusDB 0.7.0b3 reads `[storage] ttl_sweep_seconds` from its config file but its CLI never
hands it to the server, so the only way to turn the sweeper off is to start the server with it.
The tests need it off: their clock is set in the past, so the sweeper (every 60 s, wall time)
would delete a test's staff sessions and login counts in the middle of the test.
"""

from __future__ import annotations

import functools

from secantus import cli
from secantus.server import SecantusDBServer

if __name__ == "__main__":
    cli.SecantusDBServer = functools.partial(SecantusDBServer, ttl_sweep_seconds=0)
    raise SystemExit(cli.main())
