"""jido: a runtime for reliable multi-agent systems on Trio's structured concurrency."""
