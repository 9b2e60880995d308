"""The runtime: agent servers under supervision, sensors, scheduling (specs only so far)."""
