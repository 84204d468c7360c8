"""redif.dosimetry."""
