"""Vectorised root finding for monotone functions (private helper).

Wraps SciPy's elementwise Chandrupatla solver
(:func:`scipy.optimize.elementwise.find_root`) so that every quantile in the
package is found the same way: the caller builds a valid bracket from bounds it
can prove, and endpoints where the function is already zero are returned as is.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import elementwise

FloatArray = NDArray[np.float64]


def find_root_bracketed(
    f: Callable[..., FloatArray],
    lo: ArrayLike,
    hi: ArrayLike,
    args: tuple[ArrayLike, ...] = (),
) -> FloatArray:
    """Roots of ``f(x, *args)`` (elementwise) inside ``[lo, hi]``.

    ``f(lo)`` and ``f(hi)`` must not have the same strict sign (where rounding makes
    them so, the end with the smaller ``|f|`` is returned). Raises
    ``RuntimeError`` when the solver does not converge, which would be a bug in
    the caller's bracket, not a user error.
    """
    arrays = np.broadcast_arrays(
        np.asarray(lo, dtype=np.float64),
        np.asarray(hi, dtype=np.float64),
        *(np.asarray(a, dtype=np.float64) for a in args),
    )
    lo_, hi_, *args_ = (np.ravel(a) for a in arrays)
    shape = arrays[0].shape
    out = lo_.copy()
    f_lo, f_hi = f(lo_, *args_), f(hi_, *args_)
    # The caller's bracket is proven; where rounding gives both ends the same sign the
    # root sits at the end with the smaller |f| (within rounding of it).
    same_sign = np.sign(f_lo) == np.sign(f_hi)
    at_hi = ((f_hi == 0) & (f_lo != 0)) | (same_sign & (np.abs(f_hi) < np.abs(f_lo)))
    out[at_hi] = hi_[at_hi]
    todo = ~same_sign & (f_lo != 0) & (f_hi != 0) & (lo_ < hi_)
    if np.any(todo):
        sub = [a[todo] for a in args_]
        res = elementwise.find_root(
            f,
            (lo_[todo], hi_[todo]),
            args=tuple(sub),
            tolerances={"xrtol": 4 * np.finfo(float).eps, "xatol": 1e-300},
        )
        if not np.all(res.success):
            raise RuntimeError("quantile search did not converge (invalid bracket)")
        out[todo] = res.x
    return out.reshape(shape)
