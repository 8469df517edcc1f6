"""The assistant's models, one module per area: the model registry, the knowledge base, threads."""

from .knowledge import *  # noqa: F403
from .registry import *  # noqa: F403
from .threads import *  # noqa: F403
