"""Two modules that define event classes under the same ``event_type`` name."""
