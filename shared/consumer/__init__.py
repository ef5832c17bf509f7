"""The one consumer loop every service runs its Kafka consumers on (see loop.py)."""

from shared.consumer.dead_letters import DeadLetter, dead_letter_topic
from shared.consumer.loop import Consumer, ConsumerSpec, Settled, run_consumer
from shared.consumer.messages import Batch, Message, Output, event_message

__all__ = ["Batch", "Consumer", "ConsumerSpec", "DeadLetter", "Message", "Output", "Settled",
           "dead_letter_topic", "event_message", "run_consumer"]
