"""Citizen notifications: an outbox of messages per (report, status sequence, channel), sent
by email (SMTP), SMS and Zalo OA gateways; consent, quiet hours, retries and unsubscribe."""
