"""What a journey module imports: ``from dvcload.journeys import journey, session_start``.

See :mod:`dvcschema.pyjourneys` (how a module is found and checked) and
:mod:`loadgen.pyjourneys` (the ``http`` interface each function receives).
"""

from dvcschema.pyjourneys import JourneyFailed, journey, session_start

__all__ = ["JourneyFailed", "journey", "session_start"]
