"""Code the 1022 services share: settings, events, Kafka and Mongo helpers, metrics, clock."""
