"""conductor-python (partial stub)."""
