"""Import every feature's models so that the metadata is complete (for migrations and checks)."""

from citymeter.accounts import models as _accounts  # noqa: F401
from citymeter.assessment import models as _assessment  # noqa: F401
from citymeter.complaints import models as _complaints  # noqa: F401
from citymeter.db import reference as _reference  # noqa: F401
from citymeter.db.base import Base
from citymeter.directives import models as _directives  # noqa: F401
from citymeter.entities import models as _entities  # noqa: F401
from citymeter.incidents import models as _incidents  # noqa: F401
from citymeter.indicators import models as _indicators  # noqa: F401
from citymeter.live import models as _live  # noqa: F401
from citymeter.observations import models as _observations  # noqa: F401
from citymeter.places import models as _places  # noqa: F401
from citymeter.sources import models as _sources  # noqa: F401
from citymeter.suggestions import models as _suggestions  # noqa: F401
from citymeter.trends import models as _trends  # noqa: F401

metadata = Base.metadata
