"""redif.io."""
