"""The embedded development stack: a Kafka-protocol broker (Tansu) and a MongoDB-protocol
store (SecantusDB), started, health-checked and stopped from one place.

Used by `make run` (python -m shared.devstack) and by the test fixtures. Development and
tests only: production runs Apache Kafka and a MongoDB replica set.
"""

from shared.devstack.processes import (
    Broker,
    EmbeddedStack,
    ManagedProcess,
    Store,
    free_port,
    wait_for_port,
)

__all__ = ["Broker", "EmbeddedStack", "ManagedProcess", "Store", "free_port", "wait_for_port"]
