"""Every consumer loop's figures, labelled by the loop's name (a handful, declared in code)."""

from prometheus_client import Counter, Histogram

MESSAGES = Counter("consumer_messages_total", "Messages a consumer loop processed and committed",
                   ["consumer"])
DEAD_LETTERS = Counter("consumer_dead_letters_total",
                       "Messages a consumer loop sent to a dead-letter topic, by why",
                       ["consumer", "kind"])
BATCH_SECONDS = Histogram("consumer_batch_seconds",
                          "Time from a batch's poll to its commit", ["consumer"])
