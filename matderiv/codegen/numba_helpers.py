"""Helpers of the numba backend: source text pasted into numba-backend code.

``HELPERS`` are matderiv's NumPy helpers (``helpers.py``) that numba compiles
as written.  ``REPLACEMENTS`` are written again for numba: loops where NumPy
broadcasts or reshapes views, ``numpy.linalg.solve`` where NumPy uses SciPy's
LU factors.  Every one is checked, through the identity battery in both
layouts, against what the NumPy backend computes (tests/test_codegen_numba.py).
"""

from __future__ import annotations

#: helpers (matderiv's own, pasted into the source) that numba compiles as written
HELPERS = {"_gram", "_gram_psd", "_logdet"}
#: helpers the wrapper calls in Python, outside the compiled core, kept as they are
PYTHON_HELPERS = {"_number"}
#: helpers written again for numba, as loops where NumPy broadcasts or reshapes
#: views (an identity factor, None in NumPy, is passed as numpy.eye); LU "factors"
#: are the matrix itself and solves
#: are numpy.linalg.solve (numba has no scipy.linalg); diag of a vector by a loop
#: (numba's numpy.diagflat is missing); integer matrix powers by products (numba's
#: numpy.linalg.matrix_power is typed Optional, which det and solve then reject);
#: the step function by numpy.sign (numba has no numpy.heaviside); rows scaled by
#: broadcasting (numba has no einsum); softmax and logsumexp along an axis by a loop
#: (numba's max and sum take no axis= with keepdims=)
REPLACEMENTS = {
    "_softmax": """
def _softmax(z, axis):
    out = numpy.empty_like(z)
    if axis == 0:
        for j in range(z.shape[1]):
            e = numpy.exp(z[:, j] - z[:, j].max())
            out[:, j] = e / e.sum()
    else:
        for i in range(z.shape[0]):
            e = numpy.exp(z[i] - z[i].max())
            out[i] = e / e.sum()
    return out
""",
    "_logsumexp": """
def _logsumexp(z, axis):
    if axis == 0:
        out = numpy.empty((1, z.shape[1]), z.dtype)
        for j in range(z.shape[1]):
            top = z[:, j].max()
            out[0, j] = top + numpy.log(numpy.exp(z[:, j] - top).sum())
    else:
        out = numpy.empty((z.shape[0], 1), z.dtype)
        for i in range(z.shape[0]):
            top = z[i].max()
            out[i, 0] = top + numpy.log(numpy.exp(z[i] - top).sum())
    return out
""",
    "_rank_k": """
def _rank_k(A, s):
    B = numpy.sqrt(s) * A
    return B.T @ B
""",
    "_lu": """
def _lu(A):
    return A
""",
    "_inv_lu": """
def _inv_lu(F):
    return numpy.linalg.inv(F)
""",
    "_solve": """
def _solve(F, M, trans):
    return numpy.linalg.solve(F.T if trans else F, M)
""",
    "_solve_right": """
def _solve_right(M, F, trans):
    return _solve(F, M.T, 1 - trans).T
""",
    "_diagflat": """
def _diagflat(v):
    flat = v.copy().reshape(-1)
    out = numpy.zeros((flat.size, flat.size), flat.dtype)
    for i in range(flat.size):
        out[i, i] = flat[i]
    return out
""",
    "_kron_left": """
def _kron_left(A, B, M, q, s):
    k = M.shape[1]
    T = A.dot(numpy.ascontiguousarray(M).reshape(q, s * k))
    T3 = T.reshape(-1, s, k)
    out = numpy.empty((T3.shape[0], B.shape[0], k), (B[:1, :1] * T[:1, :1]).dtype)
    for i in range(T3.shape[0]):
        out[i] = B.dot(T3[i])
    return out.reshape(-1, k)
""",
    "_kron_right": """
def _kron_right(M, A, B, p, r):
    return _kron_left(A.T.copy(), B.T.copy(), M.T.copy(), p, r).T
""",
    "_kron": """
def _kron(A, B):
    p, q = A.shape
    r, s = B.shape
    out = numpy.empty((p * r, q * s), (A[:1, :1] * B[:1, :1]).dtype)
    for a in range(p):
        for i in range(q):
            for b in range(r):
                for j in range(s):
                    out[a * r + b, i * s + j] = A[a, i] * B[b, j]
    return out
""",
    "_kron_commuted": """
def _kron_commuted(A, B):
    p, q = A.shape
    r, s = B.shape
    out = numpy.empty((p * r, q * s), (A[:1, :1] * B[:1, :1]).dtype)
    for a in range(p):
        for i in range(q):
            for b in range(r):
                for j in range(s):
                    out[a * r + b, j * q + i] = A[a, i] * B[b, j]
    return out
""",
    "_kron_eye_left": """
def _kron_eye_left(k, B):
    r, s = B.shape
    out = numpy.zeros((k * r, k * s), B.dtype)
    for i in range(k):
        out[i * r : (i + 1) * r, i * s : (i + 1) * s] = B
    return out
""",
    "_kron_eye_right": """
def _kron_eye_right(A, k):
    p, q = A.shape
    out = numpy.zeros((p * k, q * k), A.dtype)
    for a in range(p):
        for c in range(q):
            for i in range(k):
                out[a * k + i, c * k + i] = A[a, c]
    return out
""",
    "_kron_mid": """
def _kron_mid(F, M, a, b):
    k = M.shape[1]
    T = numpy.ascontiguousarray(M).reshape(a, F.shape[1], b * k)
    out = numpy.empty((a, F.shape[0], b * k), (F[:1, :1] * M[:1, :1]).dtype)
    for i in range(a):
        out[i] = F.dot(T[i])
    return out.reshape(-1, k)
""",
    "_commute_mid": """
def _commute_mid(M, a, m, n, b):
    k = M.shape[1]
    out = numpy.empty((a * m * n * b, k), M.dtype)
    for t in range(a):
        for i in range(m):
            for j in range(n):
                src = ((t * n + j) * m + i) * b
                dst = ((t * m + i) * n + j) * b
                out[dst : dst + b, :] = M[src : src + b, :]
    return out
""",
    "_commute_rows": """
def _commute_rows(M, m, n):
    out = numpy.empty((m * n, M.shape[1]), M.dtype)
    for i in range(m):
        for j in range(n):
            out[j + n * i, :] = M[i + m * j, :]
    return out
""",
    "_commute_cols": """
def _commute_cols(M, m, n):
    return _commute_rows(M.T, n, m).T
""",
    "_commutation": """
def _commutation(m, n):
    return _commute_rows(numpy.eye(m * n), m, n)
""",
    "_heaviside": """
def _heaviside(x, at_zero):
    return (numpy.sign(x) + 1.0) / 2.0 + (at_zero - 0.5) * (x == 0)
""",
    "_repeat": """
def _repeat(x, k, axis):
    r, c = x.shape
    if axis == 0:
        out = numpy.empty((r * k, c), x.dtype)
        for i in range(r):
            for t in range(k):
                out[i * k + t, :] = x[i, :]
        return out
    out = numpy.empty((r, c * k), x.dtype)
    for j in range(c):
        for t in range(k):
            out[:, j * k + t] = x[:, j]
    return out
""",
    "_matrix_power": """
def _matrix_power(M, k):
    if k < 0:
        M = numpy.linalg.inv(M)
        k = -k
    out = numpy.eye(M.shape[0], dtype=M.dtype)
    for _ in range(k):
        out = out.dot(M)
    return out
""",
}
