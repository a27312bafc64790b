"""A numba intrinsic the cached callbacks use to read arrays whose addresses nutpie passes.

nutpie hands each callback a pointer to its ``user_data`` record: the addresses, sizes and shapes
of the model's shared data (``pm.Data``) as unsigned 64-bit words. The callbacks turn an address
back into a pointer with :func:`address_as_void_pointer`, then view it with ``numba.carray``.
It lives in an importable module so that numba can cache the callbacks that call it.
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["address_as_void_pointer"]


@intrinsic
def address_as_void_pointer(typingctx, src):
    """``void *`` from an integer address (``inttoptr``).

    Parameters
    ----------
    typingctx : numba typing context
        Supplied by numba.
    src : numba integer type
        The address.

    Returns
    -------
    tuple
        The signature and the code generator, as numba intrinsics do.
    """
    sig = types.voidptr(src)

    def codegen(cgctx, builder, sig, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return sig, codegen
