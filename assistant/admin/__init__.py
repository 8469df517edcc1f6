from . import knowledge, registry, threads  # noqa: F401
