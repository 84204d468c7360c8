"""redif.registry."""
