"""redif.evidence."""
