"""Admin for this area of the assistant."""
