"""redif.reports."""
