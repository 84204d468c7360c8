"""redif.web."""
