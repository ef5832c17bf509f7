"""SLA alerts that reach people: `sla.alerts` consumed into per-person notifications (the
in-app notification centre) and e-mail (each alert, an hourly digest, or none)."""
