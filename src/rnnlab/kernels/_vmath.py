"""Scalar exp, sigmoid and tanh that LLVM can vectorise inside Numba loops.

Numba's ``math.exp``/``math.tanh`` are calls into libm, which the loop vectoriser cannot widen
(about 40 ns per element for a sigmoid plus a tanh on the benchmark machine, more than the GEMMs
of a large LSTM step). These versions use only arithmetic, ``floor``, ``min``/``max`` and a bit
cast, so a loop over a gate row becomes SIMD code. Callers must be compiled with
``error_model="numpy"``: Python's error model puts a zero-division branch on every ``/``, which
stops vectorisation.

``sigmoid`` and ``tanh`` pick the precision of their argument: float64 stays within a few ulp of
NumPy (far inside the 1e-12 fast-vs-reference tolerance); float32 works in float32 (8 SIMD
lanes, Cephes' single-precision polynomials), as PyTorch does for float32 tensors.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

_JIT = dict(cache=True, inline="always", error_model="numpy")

# -- float64 ----------------------------------------------------------------------------------
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93145751953125e-1  # Cody-Waite split of ln 2: k * _LN2_HI is exact
_LN2_LO = 1.42860682030941723212e-6
# exp(r) for |r| <= ln(2)/2: Taylor coefficients 1/n!, n = 2..13 (truncation < 1e-17)
_E = [1.0 / math.factorial(n) for n in range(14)]
_E2, _E3, _E4, _E5, _E6, _E7 = _E[2:8]
_E8, _E9, _E10, _E11, _E12, _E13 = _E[8:14]
# Cephes tanh for |x| < 0.625: x + x^3 P(x^2) / Q(x^2)
_TP0, _TP1, _TP2 = -9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3
_TQ0, _TQ1, _TQ2 = 1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3

# -- float32 (Cephes expf / tanhf) --------------------------------------------------------------
_F = np.float32
_LOG2E_F = _F(1.44269504088896341)
_LN2_HI_F, _LN2_LO_F = _F(0.693359375), _F(-2.12194440e-4)
_EF0, _EF1, _EF2 = _F(1.9875691500e-4), _F(1.3981999507e-3), _F(8.3334519073e-3)
_EF3, _EF4, _EF5 = _F(4.1665795894e-2), _F(1.6666665459e-1), _F(5.0000001201e-1)
_TF0, _TF1, _TF2 = _F(-5.70498872745e-3), _F(2.06390887954e-2), _F(-5.37397155531e-2)
_TF3, _TF4 = _F(1.33314422036e-1), _F(-3.33332819422e-1)
_ONE_F, _TWO_F, _HALF_F, _ZERO_F = _F(1.0), _F(2.0), _F(0.5), _F(0.0)
_LO_F, _HI_F, _SMALL_F = _F(-87.0), _F(88.0), _F(0.625)


@intrinsic
def _bits_to_float(typingctx, bits):
    """Reinterpret an int64 as float64, or an int32 as float32 (no conversion)."""
    if bits == types.int64:
        out = types.float64
    elif bits == types.int32:
        out = types.float32
    else:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(out))

    return out(bits), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (LLVM's ``llvm.fma``, vectorisable), for float32 or float64
    operands of one type. Where a kernel must keep the bits of a fused expression whose code
    around it changes: the compiler's own fusing of ``a * b + c * d`` picks one product by
    the shape of the code."""
    if not (isinstance(a, types.Float) and a == b == c):
        return None

    def codegen(context, builder, signature, args):
        ty = context.get_value_type(signature.return_type)
        name = "llvm.fma.f32" if signature.return_type == types.float32 else "llvm.fma.f64"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ty, [ty] * 3), name)
        return builder.call(fn, args)

    return a(a, b, c), codegen


@njit(**_JIT)
def exp64(x: float) -> float:
    """exp(x) for x in [-700, 709] (clamped outside: no inf, no denormals)."""
    x = min(max(x, -700.0), 709.0)
    k = np.floor(x * _LOG2E + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO  # |r| <= ln(2)/2
    r2 = r * r
    r4 = r2 * r2
    # Estrin's scheme: shorter dependency chains than Horner, same polynomial
    p = (
        ((_E2 + _E3 * r) + (_E4 + _E5 * r) * r2)
        + ((_E6 + _E7 * r) + (_E8 + _E9 * r) * r2) * r4
        + ((_E10 + _E11 * r) + (_E12 + _E13 * r) * r2) * (r4 * r4)
    )
    p = p * r2 + r + 1.0
    # times 2**k. k goes through int32: AVX2 converts floats to int32 in SIMD lanes but has no
    # conversion to int64, which LLVM then did lane by lane (a quarter of the float32 LSTM
    # forward gate loop's time; see benchmarks/NOTES.md).
    return p * _bits_to_float((np.int64(np.int32(k)) + 1023) << 52)


@njit(**_JIT)
def exp32(x):
    """float32 exp(x) for x in [-87, 88] (clamped outside)."""
    x = min(max(x, _LO_F), _HI_F)
    k = np.floor(x * _LOG2E_F + _HALF_F)
    r = (x - k * _LN2_HI_F) - k * _LN2_LO_F
    r2 = r * r
    p = ((_EF0 * r + _EF1) * r2 + (_EF2 * r + _EF3)) * r2 + (_EF4 * r + _EF5)
    p = p * r2 + r + _ONE_F
    # times 2**k; through int32 (a SIMD conversion), as in exp64. Numba widens int32 sums.
    return p * _bits_to_float(np.int32((np.int32(k) + 127) << 23))


@njit(**_JIT)
def sigmoid64(z: float) -> float:
    """Logistic function in the reference's stable form (never exp of a positive number)."""
    e = exp64(-abs(z))
    return max(e, (z >= 0.0) * 1.0) / (1.0 + e)  # 1/(1+e) for z >= 0, e/(1+e) below


@njit(**_JIT)
def sigmoid32(z):
    e = exp32(-abs(z))
    return max(e, _F(z >= _ZERO_F)) / (_ONE_F + e)


@njit(**_JIT)
def tanh64(x: float) -> float:
    """tanh: Cephes' rational form for |x| < 0.625, (1 - e) / (1 + e), e = exp(-2|x|), above.

    Both forms are computed and blended (a branch would stop vectorisation), so the small form
    gets min(|x|, 0.625): with |x| itself, x**2 overflows for |x| > 1e154 and the unused form's
    inf * 0 made tanh NaN. The two forms share one division (numerators and denominators are
    blended first): the division is the slowest SIMD instruction in the gate loops.
    """
    a = abs(x)
    e = exp64(-2.0 * a)
    s = min(a, 0.625)
    z = s * s
    p = ((_TP0 * z + _TP1) * z + _TP2) * z
    q = ((z + _TQ0) * z + _TQ1) * z + _TQ2
    m = (a < 0.625) * 1.0  # a blend, not a branch, keeps the loop vectorisable
    num = (s * q + s * p) * m + (1.0 - e) * (1.0 - m)  # small: s + s p / q = (s q + s p) / q
    den = q * m + (1.0 + e) * (1.0 - m)
    return math.copysign(num / den, x)


@njit(**_JIT)
def tanh32(x):
    a = abs(x)
    e = exp32(-_TWO_F * a)
    big = (_ONE_F - e) / (_ONE_F + e)
    s = min(a, _SMALL_F)  # finite where unused, as in tanh64
    z = s * s
    small = (((((_TF0 * z + _TF1) * z + _TF2) * z + _TF3) * z + _TF4) * z) * s + s
    m = _F(a < _SMALL_F)
    return np.float32(math.copysign(small * m + big * (_ONE_F - m), x))


def sigmoid(z):
    """Logistic function at the precision of ``z`` (float32 or float64); for Numba code."""
    # Plain-Python meaning of the Numba overload below (used only outside compiled code).
    return 1.0 / (1.0 + math.exp(-z))


def tanh(x):
    """tanh at the precision of ``x`` (float32 or float64); for Numba-compiled code."""
    # Plain-Python meaning of the Numba overload below (used only outside compiled code).
    return math.tanh(x)


@overload(sigmoid, inline="always")
def _sigmoid_impl(z):
    if z == types.float32:
        return lambda z: sigmoid32(z)
    return lambda z: sigmoid64(z)


@overload(tanh, inline="always")
def _tanh_impl(x):
    if x == types.float32:
        return lambda x: tanh32(x)
    return lambda x: tanh64(x)
