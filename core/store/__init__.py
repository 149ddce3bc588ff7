"""The project store: what goes to disk and what comes back from it, guarded and bounded."""
