"""redif.design."""
