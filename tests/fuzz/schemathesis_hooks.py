"""Schemathesis hooks for the API fuzzing run (loaded through SCHEMATHESIS_HOOKS)."""
