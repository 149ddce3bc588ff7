"""Pure numpy helpers for what the GUI shows: overlay colouring, hit tests (no Qt here)."""
