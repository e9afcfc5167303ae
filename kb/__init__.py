"""The shipped partways knowledge base (data only)."""
