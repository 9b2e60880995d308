"""The runtime: agent servers under supervision, sensors, timers and cron, hibernation and activation, durable
state, dead letters. Start one with :func:`jido.open_runtime`; docs/architecture.md says which module owns
what."""
