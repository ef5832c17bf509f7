"""Flask helpers the three services share: problem details, OpenAPI, metrics, health."""
