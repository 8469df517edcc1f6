"""The model registry's services (writes) and selectors (reads)."""
