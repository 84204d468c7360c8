"""redif.pathway."""
