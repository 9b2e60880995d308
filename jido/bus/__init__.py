"""The signal bus: a durable journal, subscriptions with acks, replay, dead letters, and dispatch adapters."""
