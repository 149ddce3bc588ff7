"""Crash journal of completed edits (see core.store.journal.journal and docs/adr/0007)."""
from maskwork.core.store.journal.journal import EditJournal, read_logs

__all__ = ["EditJournal", "read_logs"]
