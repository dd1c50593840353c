"""The integration layer: the contracts other services rely on (versioned CloudEvents)."""
