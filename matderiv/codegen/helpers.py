"""NumPy helpers that generated code calls; their source is pasted into it.

Kronecker, commutation and diag factors are applied, never built, unless the
result is that matrix itself (the vec trick: (A ⊗ B) vec(X) = vec(B X Aᵀ)).
Each helper is a plain function of NumPy arrays, so the generated code stays
self-contained.  ``None`` stands for an identity factor of a known size.
"""

from __future__ import annotations

import numpy
import scipy.linalg


def _kron_left(A, B, M, q, s):
    """(A ⊗ B) @ M for A: p x q, B: r x s (None: an identity of size q or s)."""
    k = M.shape[1]
    T = M.reshape(q, s * k)
    if A is not None:
        T = A @ T
    T = T.reshape(-1, s, k)
    if B is not None:
        T = numpy.matmul(B, T)
    return T.reshape(-1, k)


def _kron_right(M, A, B, p, r):
    """M @ (A ⊗ B) for A: p x q, B: r x s (None: an identity of size p or r)."""
    At = None if A is None else A.T
    Bt = None if B is None else B.T
    return _kron_left(At, Bt, M.T, p, r).T


def _kron(A, B):
    """A ⊗ B built by broadcasting (faster than numpy.kron), into a C-ordered array:
    left to choose, NumPy lays the product out like its operands and the reshape copies."""
    p, q = A.shape
    r, s = B.shape
    out = numpy.empty((p, r, q, s), dtype=numpy.result_type(A, B))
    numpy.multiply(A[:, None, :, None], B[None, :, None, :], out=out)
    return out.reshape(p * r, q * s)


def _kron_commuted(A, B):
    """(A ⊗ B) K_{q,s} for A: p x q, B: r x s, in one broadcast:
    entry (a r + b, j q + i) is A[a, i] B[b, j]."""
    p, q = A.shape
    r, s = B.shape
    out = numpy.empty((p, r, s, q), dtype=numpy.result_type(A, B))
    numpy.multiply(A[:, None, None, :], B[None, :, :, None], out=out)
    return out.reshape(p * r, q * s)


def _kron_eye_left(k, B):
    """I_k ⊗ B, block diagonal."""
    r, s = B.shape
    out = numpy.zeros((k, r, k, s), dtype=B.dtype)
    idx = numpy.arange(k)
    out[idx, :, idx, :] = B
    return out.reshape(k * r, k * s)


def _kron_eye_right(A, k):
    """A ⊗ I_k."""
    p, q = A.shape
    out = numpy.zeros((p, k, q, k), dtype=A.dtype)
    idx = numpy.arange(k)
    out[:, idx, :, idx] = A
    return out.reshape(p * k, q * k)


def _kron_mid(F, M, a, b):
    """(I_a ⊗ F ⊗ I_b) @ M for F: p x q: F applied to each of M's a row blocks, whose
    rows it mixes b apart."""
    k = M.shape[1]
    T = numpy.matmul(F, M.reshape(a, F.shape[1], b * k))
    return T.reshape(-1, k)


def _commute_mid(M, a, m, n, b):
    """(I_a ⊗ K_{m,n} ⊗ I_b) @ M, a permutation of M's rows: in each of the a row
    blocks, the block of b rows at i + m j goes to j + n i."""
    k = M.shape[1]
    return M.reshape(a, n, m, b * k).transpose(0, 2, 1, 3).reshape(-1, k)


def _commute_rows(M, m, n):
    """K_{m,n} @ M: row i + m j of M goes to row j + n i (K vec(A) = vec(Aᵀ))."""
    k = M.shape[1]
    return M.reshape(n, m, k).transpose(1, 0, 2).reshape(m * n, k)


def _commute_cols(M, m, n):
    """M @ K_{m,n} = (K_{n,m} Mᵀ)ᵀ."""
    return _commute_rows(M.T, n, m).T


def _commutation(m, n):
    """K_{m,n} itself, (mn x mn)."""
    return _commute_rows(numpy.eye(m * n), m, n)


def _rank_k(A, s):
    """Bᵀ B with B = √s ∘ A (s >= 0): a symmetric rank-k update, half the work of a
    general product.  einsum scales the rows: broadcasting a column took
    1.05-1.5x its time from 256 x 128 up."""
    B = numpy.einsum("ij,i->ij", A, numpy.sqrt(s).ravel())
    return B.T @ B


def _gram(A, s):
    """Aᵀ diag(s) A: a rank-k update when s >= 0 and it is not small (m n² > 2¹⁹
    multiply-adds), else a general product."""
    m, n = A.shape
    if m * n * n > 524288 and (s >= 0).all():
        return _rank_k(A, s)
    return A.T.dot(s * A)


# The general product of a small Gram matrix skips √s, and OpenBLAS's small-matrix
# kernels take it in 0.5-0.8x the rank-k update's time (measured with m = n/2, 2n
# and 8n up to n = 128 on an Intel Xeon: 1.7 against 3.4 µs at 16 x 32, 18 against
# 24 µs at 128 x 64); the update's half of the work wins above (0.85x at 256 x 128,
# 0.7x at 512 x 256).  The bound of 2¹⁹ suits that BLAS on that machine; elsewhere
# the crossover may lie a little higher or lower.
def _gram_psd(A, s):
    """Aᵀ diag(s) A for weights s >= 0 by construction (e/(1 + e)², y∘y), without
    checking the signs: a rank-k update, or when small (m n² <= 2¹⁹ multiply-adds)
    a general product."""
    m, n = A.shape
    if m * n * n <= 524288:
        return A.T.dot(s * A)
    return _rank_k(A, s)


def _cache_bytes():
    """The size of the CPU's last-level cache in bytes, as Linux reports it for CPU 0;
    8 MiB where it cannot be read (other systems)."""
    largest = 0
    for index in range(8):
        try:
            with open(f"/sys/devices/system/cpu/cpu0/cache/index{index}/size") as f:
                text = f.read().strip()
        except OSError:
            break
        unit = {"K": 1024, "M": 1048576}.get(text[-1:], 1)
        digits = text.rstrip("KMB")
        if digits.isdigit():
            largest = max(largest, int(digits) * unit)
    return largest or 8388608


def _merges():
    """Whether NumPy's BLAS is OpenBLAS 0.3.21 or later on x86-64, whose product of a
    matrix with a few columns is fast below 10⁶ multiply-adds (its small-matrix
    kernels: A_r [v w] in 0.4-0.6x the time of A_r v and A_r w) and 2-3x slower
    above (measured with 0.3.31 on an AMD EPYC); False where that cannot be read."""
    try:
        config = numpy.__config__.CONFIG  # NumPy 1.25 and later
        blas = config["Build Dependencies"]["blas"]
        version = tuple(int(part) for part in blas["version"].split(".")[:3])
        family = config["Machine Information"]["host"]["family"]
    except (AttributeError, KeyError, TypeError, ValueError):
        return False
    return "openblas" in str(blas["name"]).lower() and version >= (0, 3, 21) and family == "x86_64"


def _one_pass(A, rows, right, reads=2, cache=_cache_bytes(), merge=_merges()):  # noqa: B008
    """Aᵀ R for R = g(A V_1, ..., A V_k) entrywise, right = (V_1, ..., V_k), where
    rows(r, A[r] V_1, ..., A[r] V_k) is the rows r of R: by blocks of about 1 MiB of A
    (at least 8 rows), each block used for all the products while it is in cache, so
    that a large A is read from memory once, not ``reads`` times.  A whose ``reads``
    passes fit in the last-level cache (``cache`` bytes) is taken whole, as the
    blocks' own cost is then not repaid, and so is A not a C-ordered array; so is the
    rest of A when R is too wide for blocks to pay (the sum of the blocks' products
    rewrites Aᵀ R a block).  Where the BLAS ``merge``s, two or more products of at
    most 8 columns in all are one product A[r] [V_1 ... V_k] a block, in blocks below
    2¹⁹ multiply-adds, whatever the cache (A of 2¹⁶ entries or more)."""
    m = A.shape[0]
    whole = not isinstance(A, numpy.ndarray) or not A.flags.c_contiguous
    merged = merge and not whole and A.size >= 65536 and len(right) > 1
    if merged and sum(V.shape[1] for V in right) <= 8:
        return _merged_pass(A, rows, right)
    step = m if whole or reads * A.nbytes <= cache else max(8, 1048576 // max(1, A.strides[0]))
    if m <= step:
        return A.T.dot(rows(slice(None), *map(A.dot, right)))
    r = slice(0, step)
    first = rows(r, *map(A[r].dot, right))
    if 8 * first.shape[1] > step:
        rest = slice(step, m)
        last = rows(rest, *map(A[rest].dot, right))
        return A.T.dot(numpy.concatenate([first, last]))
    total = A[r].T.dot(first)
    for start in range(step, m, step):
        r = slice(start, start + step)
        block = A[r]
        total += block.T.dot(rows(r, *map(block.dot, right)))
    return total


def _merged_pass(A, rows, right):
    """_one_pass with the products of a block as one (see there)."""
    stacked = numpy.concatenate(right, axis=1)
    columns, end = [], 0  # each product's columns in the stacked product
    for V in right:
        columns.append(slice(end, end + V.shape[1]))
        end += V.shape[1]
    step = max(8, 524288 // max(1, A.shape[1] * end))
    total = None
    for start in range(0, A.shape[0], step):
        r = slice(start, start + step)
        block = A[r]
        P = block.dot(stacked)
        part = block.T.dot(rows(r, *(P[:, c] for c in columns)))
        total = part if total is None else numpy.add(total, part, out=total)
    return total


def _lu(A):
    """LU factors of A (LAPACK getrf), to solve with A where A⁻¹ is a factor of a
    product: the factorisation costs a third of an inverse, and each solve about
    as much as the product with A⁻¹ it replaces."""
    (getrf,) = scipy.linalg.get_lapack_funcs(("getrf",), (A,))
    lu, piv, info = getrf(A)
    if info > 0:
        raise numpy.linalg.LinAlgError("Singular matrix")
    return lu, piv


def _inv_lu(F):
    """A⁻¹ from F = _lu(A) (LAPACK getri), where the code factorised A already."""
    lu, piv = F
    (getri,) = scipy.linalg.get_lapack_funcs(("getri",), (lu,))
    inverse, info = getri(lu, piv)
    if info > 0:
        raise numpy.linalg.LinAlgError("Singular matrix")
    return inverse


def _solve(F, M, trans):
    """A⁻¹ M (trans 0) or A⁻ᵀ M (trans 1), with F = _lu(A) (LAPACK getrs, called
    directly: scipy.linalg.lu_solve's checks cost 7 µs a call, a third of the whole
    log det Hessian-vector product at n = 32)."""
    lu, piv = F
    (getrs,) = scipy.linalg.get_lapack_funcs(("getrs",), (lu, M))
    solution, _ = getrs(lu, piv, M, trans=trans)  # (f2py refuses bad arguments itself)
    return solution


def _solve_right(M, F, trans):
    """M A⁻¹ (trans 0) or M A⁻ᵀ (trans 1), with F = _lu(A): (A⁻ᵀ Mᵀ)ᵀ or (A⁻¹ Mᵀ)ᵀ."""
    return _solve(F, M.T, 1 - trans).T


def _logdet(A):
    """log det(A) from the LU factors (numpy.linalg.slogdet): det(A) itself under- or
    overflows from n of a few hundred (0.1 I at n = 400 is 1e-400); log of a negative
    det is NaN, of 0 is -inf, as numpy.log of det(A) would be."""
    sign, value = numpy.linalg.slogdet(A)
    return value if sign == 1 else numpy.log(sign) + value  # a complex A: its phase


def _number(v):
    """A scalar result as a Python number: a float, or a complex for a complex value
    (float() would drop its imaginary part)."""
    return complex(v) if numpy.iscomplexobj(v) else float(v)


def _softmax(z, axis):
    """The softmax of each column (axis 0; of a column vector) or each row (axis 1),
    less the largest entry first (exp of a large entry overflows)."""
    e = numpy.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _logsumexp(z, axis):
    """log Σ exp down each column (axis 0: a row; of a column vector, 1 x 1) or along
    each row (axis 1: a column), less the largest entry first."""
    top = z.max(axis=axis, keepdims=True)
    return top + numpy.log(numpy.exp(z - top).sum(axis=axis, keepdims=True))


HELPERS = {
    f.__name__: f
    for f in (
        _kron_left,
        _kron_right,
        _kron,
        _kron_commuted,
        _kron_eye_left,
        _kron_eye_right,
        _kron_mid,
        _commute_mid,
        _commute_rows,
        _commute_cols,
        _commutation,
        _rank_k,
        _gram,
        _gram_psd,
        _cache_bytes,
        _merges,
        _one_pass,
        _merged_pass,
        _lu,
        _inv_lu,
        _solve,
        _solve_right,
        _logdet,
        _number,
        _softmax,
        _logsumexp,
    )
}
#: helpers that call other helpers
DEPENDS: dict[str, tuple[str, ...]] = {"_kron_right": ("_kron_left",)}
DEPENDS["_commute_cols"] = ("_commute_rows",)
DEPENDS["_commutation"] = ("_commute_rows",)
DEPENDS["_solve_right"] = ("_solve",)
DEPENDS["_one_pass"] = ("_cache_bytes", "_merges", "_merged_pass")
DEPENDS["_gram"] = DEPENDS["_gram_psd"] = ("_rank_k",)
#: helpers whose source needs ``import scipy.linalg``
USES_SCIPY = {"_lu", "_inv_lu", "_solve"}
