"""Read-only tools over the practice's data, and the planners that choose them."""
