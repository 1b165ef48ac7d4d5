"""The one clock format of a plan: a time of day as ``HH:MM``, with seconds when it has them.

Every time a plan prints (rows, the peak, spikes, the span of the arrivals, the hours
above ``max_servers``) goes through :func:`clock`. Times are rounded to the nearest
second (halves up), never to the minute: 150 s is ``00:02:30``, neither ``00:02`` nor
``00:03``, so a row of ``2m30s`` is never printed as a row of two or three minutes.
"""

from __future__ import annotations

import math


def clock(seconds: float) -> str:
    """A time of day in seconds since 00:00 as ``HH:MM``, or ``HH:MM:SS`` off the minute.

    Parameters
    ----------
    seconds : float
        Seconds since 00:00 (s); rounded to the nearest second, halves up. The end of
        a day is ``24:00`` and later times go on counting hours.

    Returns
    -------
    str

    Examples
    --------
    >>> clock(0), clock(150), clock(9 * 3600), clock(86_400), clock(3599.9995)
    ('00:00', '00:02:30', '09:00', '24:00', '01:00')
    >>> clock(57_645.5)
    '16:00:46'
    """
    hours, rest = divmod(math.floor(seconds + 0.5), 3600)
    minutes, whole_s = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}"
    return f"{text}:{whole_s:02d}" if whole_s else text
