"""redif.response."""
