"""The helper of the one-pass Aᵀ g(A V) (codegen/helpers.py ``_one_pass``) called
directly: how it cuts A into blocks of rows, when it takes A whole (a Fortran-ordered
or small A, passes that fit in the last-level cache, a result too wide for blocks),
when it takes a block's products as one (``_merges``: the BLAS it was measured
with), and the cache size it reads from Linux.  The generated code that calls it is
tested in test_codegen_one_pass.py.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from matderiv.codegen.helpers import _cache_bytes, _merges, _one_pass


def _counted(g):
    """rows(r, P) = g(P) for the block's product P = A[r] V, and the list of the
    blocks' row counts it was called with."""
    calls: list[int] = []

    def rows(r, P):
        calls.append(P.shape[0])
        return g(P)

    return rows, calls


def test_the_helper_cuts_a_large_c_ordered_matrix_into_blocks_of_rows() -> None:
    rng = np.random.default_rng(0)
    v = rng.standard_normal((50, 1))
    rows, calls = _counted(np.tanh)
    big = rng.standard_normal((3001, 50))
    want = big.T @ np.tanh(big @ v)
    np.testing.assert_allclose(_one_pass(big, rows, (v,), cache=0), want, rtol=1e-12)
    assert calls == [2621, 380]  # 1 MiB of rows, then the rest
    calls.clear()
    fortran = np.asfortranarray(big)
    np.testing.assert_allclose(_one_pass(fortran, rows, (v,), cache=0), want, rtol=1e-12)
    assert calls == [3001]  # a Fortran-ordered matrix is taken whole
    calls.clear()
    small = big[:100]
    got = _one_pass(small, rows, (v,), cache=0)
    np.testing.assert_allclose(got, small.T @ np.tanh(small @ v))
    assert calls == [100]


def test_the_helper_takes_a_whole_when_its_passes_fit_in_the_cache() -> None:
    """Blocks only when ``reads`` passes over A would not fit in the last-level cache:
    A in cache is read about as fast twice as once, and the blocks cost their own
    time (measured: the two products faster up to 16 MiB of A with 32 MiB of L3)."""
    rng = np.random.default_rng(3)
    big, v = rng.standard_normal((3001, 50)), rng.standard_normal((50, 1))
    rows, calls = _counted(np.tanh)
    want = big.T @ np.tanh(big @ v)
    for reads, cache, whole in [
        (2, 2 * big.nbytes, True),
        (2, 2 * big.nbytes - 1, False),
        (3, 2 * big.nbytes, False),
        (3, 3 * big.nbytes, True),
    ]:
        calls.clear()
        got = _one_pass(big, rows, (v,), reads, cache)
        np.testing.assert_allclose(got, want, rtol=1e-12)
        assert calls == ([3001] if whole else [2621, 380]), (reads, cache)


def test_the_cache_size_is_read_from_linux_and_has_a_default(monkeypatch) -> None:
    sizes = {0: "32K", 1: "32K", 2: "1024K", 3: "32768K"}  # an AMD EPYC's L1d, L1i, L2, L3

    def fake_open(path, *args, **kwargs):
        index = int(path.rsplit("index", 1)[1].split("/")[0])
        if index not in sizes:
            raise FileNotFoundError(path)
        return io.StringIO(sizes[index] + "\n")

    monkeypatch.setattr("builtins.open", fake_open)
    assert _cache_bytes() == 32 * 2**20
    sizes.update({1: "2M", 3: "garbage"})
    assert _cache_bytes() == 2 * 2**20
    sizes.clear()  # not Linux: nothing to read
    assert _cache_bytes() == 8 * 2**20


def test_a_result_too_wide_for_blocks_is_computed_whole_after_the_first_block() -> None:
    rng = np.random.default_rng(2)
    big, V = rng.standard_normal((6001, 50)), rng.standard_normal((50, 400))
    rows, calls = _counted(np.sin)
    got = _one_pass(big, rows, (V,), cache=0)
    np.testing.assert_allclose(got, big.T @ np.sin(big @ V), rtol=1e-12)
    assert calls == [2621, 3380]  # 400 columns: 8 x 400 > 2621 rows; the rest at once


def _two_products():
    """rows(r, P, Q) = tanh(P) ∘ Q for P = A[r] v, Q = A[r] w, with the blocks' row
    counts and the products it was given."""
    calls: list[int] = []
    given: list[tuple[np.ndarray, np.ndarray]] = []

    def rows(r, P, Q):
        calls.append(P.shape[0])
        given.append((P, Q))
        return np.tanh(P) * Q

    return rows, calls, given


def test_where_the_blas_merges_two_products_of_a_block_are_one() -> None:
    """With ``merge``, A[r] v and A[r] w are one product A[r] [v w] a block, in blocks
    below 2¹⁹ multiply-adds (50 columns, 2 products: 5242 rows), whatever the cache;
    the rows function gets the same values as from the two products."""
    rng = np.random.default_rng(4)
    big = rng.standard_normal((6001, 50))
    v, w = rng.standard_normal((50, 1)), rng.standard_normal((50, 1))
    want = big.T @ (np.tanh(big @ v) * (big @ w))
    for cache in (0, 10**12):
        rows, calls, given = _two_products()
        got = _one_pass(big, rows, (v, w), 3, cache, merge=True)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
        assert calls == [5242, 759], cache
        np.testing.assert_allclose(given[1][0], big[5242:] @ v, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(given[1][1], big[5242:] @ w, rtol=1e-10, atol=1e-12)
    rows, calls, _ = _two_products()
    got = _one_pass(big, rows, (v, w), 3, 0, merge=False)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert calls == [2621, 2621, 759]  # apart: blocks of 1 MiB


@pytest.mark.parametrize(
    "case",
    ["one product", "more than 8 columns", "A below 2¹⁶ entries", "A Fortran-ordered"],
)
def test_products_the_helper_does_not_merge(case) -> None:
    """Only two or more products of at most 8 columns in all, of a C-ordered A of
    2¹⁶ entries or more: the stacking costs more than it saves below."""
    rng = np.random.default_rng(5)
    big = rng.standard_normal((6001, 50))
    v, w = rng.standard_normal((50, 1)), rng.standard_normal((50, 8))
    if case == "A below 2¹⁶ entries":
        big = big[:1310]  # 65500 entries
    if case == "A Fortran-ordered":
        big = np.asfortranarray(big)
    stacked: list[int] = []
    concatenate = np.concatenate

    def spy(arrays, *args, **kwargs):
        stacked.append(len(arrays))
        return concatenate(arrays, *args, **kwargs)

    if case == "one product":
        rows, want = (lambda r, P: np.sin(P)), big.T @ np.sin(big @ w)
        right: tuple = (w,)
    else:
        rows, want = (lambda r, P, Q: np.tanh(P) * Q), big.T @ (np.tanh(big @ v) * (big @ w))
        right = (v, w)
    try:
        np.concatenate = spy
        got = _one_pass(big, rows, right, 3, 10**12, merge=True)
    finally:
        np.concatenate = concatenate
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert stacked == [], case


@pytest.mark.parametrize(
    ("name", "version", "family", "merges"),
    [
        ("scipy-openblas", "0.3.31.188.0", "x86_64", True),
        ("openblas", "0.3.21", "x86_64", True),
        ("openblas", "0.3.20", "x86_64", False),
        ("scipy-openblas", "0.3.31", "aarch64", False),
        ("mkl-sdl", "2023.1", "x86_64", False),
        ("accelerate", "unknown", "aarch64", False),
    ],
)
def test_the_helper_merges_products_only_with_a_measured_blas(
    monkeypatch, name, version, family, merges
) -> None:
    config = {
        "Build Dependencies": {"blas": {"name": name, "version": version}},
        "Machine Information": {"host": {"family": family}},
    }
    monkeypatch.setattr(np.__config__, "CONFIG", config, raising=False)
    assert _merges() is merges


def test_without_a_readable_blas_configuration_products_stay_apart(monkeypatch) -> None:
    monkeypatch.setattr(np.__config__, "CONFIG", {}, raising=False)
    assert _merges() is False
    monkeypatch.delattr(np.__config__, "CONFIG", raising=False)
    assert _merges() is False
