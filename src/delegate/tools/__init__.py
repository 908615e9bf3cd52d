"""Tools the large model may call while it answers a question."""
