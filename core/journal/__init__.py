"""Crash journal of completed edits (see core.journal.journal and docs/adr/0007)."""
from maskwork.core.journal.journal import EditJournal, read_logs

__all__ = ["EditJournal", "read_logs"]
