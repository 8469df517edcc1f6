"""The practice's data, one module per area. Writes go through practice.services, reads through
practice.selectors."""

from .audit import *  # noqa: F403
from .choices import *  # noqa: F403
from .inventory import *  # noqa: F403
from .lab import *  # noqa: F403
from .patients import *  # noqa: F403
from .prescriptions import *  # noqa: F403
from .recalls import *  # noqa: F403
from .sales import *  # noqa: F403
