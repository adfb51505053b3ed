"""Names as matderiv prints them in Unicode: subscripts (W_hx → Wₕₓ), accents of
generated names (hbar_1 → h̄₁, abardot → ā̇, nubar → ν̄) and Greek letters by name
(mu → μ); also in step labels (∂h_1/∂vec(W_hx) → ∂h₁/∂vec(Wₕₓ))."""

from __future__ import annotations

import re
import unicodedata

_SUBSCRIPT_CHARS = dict(
    zip("0123456789aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True)
)
_SUBSCRIPTS = str.maketrans({k: v for k, v in _SUBSCRIPT_CHARS.items() if k.isdigit()})


#: generated adjoints hbar_t, tangents hdot_t, second-order adjoints htilde_t (HVPs);
#: the user's betahat, as SymPy's LaTeX puts a hat on it too (β̂, \hat{\beta})
_ACCENTS = {"bar": "\u0304", "dot": "\u0307", "tilde": "\u0303", "hat": "\u0302"}
MAX_ACCENTS = 3


def accented(base: str) -> tuple[str, str, tuple[str, ...]] | None:
    """("h", "", ("bar",)) for "hbar", ("h", "1", ("bar",)) for "h1bar", ("a", "",
    ("bar", "dot")) for "abardot", ("nu", "", ("bar",)) for "nubar": a name of one
    letter or a Greek letter's (and digits: the CLI's h1) with up to three accents,
    innermost first, as adjoints, tangents and their tangents are named."""
    stem = base
    marks: tuple[str, ...] = ()
    while len(marks) < MAX_ACCENTS:
        accent = next((a for a in _ACCENTS if stem.endswith(a) and len(stem) > len(a)), None)
        if accent is None:
            break
        stem, marks = stem.removesuffix(accent), (accent, *marks)
    parts = re.fullmatch(r"([A-Za-z]+)([0-9]*)", stem)
    if not marks or parts is None:
        return None
    letters, digits = parts.groups()
    if len(letters) == 1 or letters in _LETTERS:
        return letters, digits, marks
    return None


#: Greek letters by name, as LaTeX names them (mu → μ, Sigma → Σ); not sigma (σ(·) is
#: the sigmoid), pi (π is the number) nor the capitals that look Latin (Alpha → A)
_GREEK_NAMES = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi rho tau "
    "upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Sigma Upsilon Phi Psi Omega"
)
GREEK = {
    name: unicodedata.lookup(
        f"GREEK {'CAPITAL' if name[0].isupper() else 'SMALL'} LETTER "
        + name.upper().replace("LAMBDA", "LAMDA")  # Unicode's spelling
    )
    for name in _GREEK_NAMES.split()
}
#: with the two a name may also spell (an adjoint's sigmabar is σ̄)
_LETTERS = {**GREEK, "sigma": "σ", "pi": "π"}
FROM_GREEK = {letter: name for name, letter in _LETTERS.items()}


def subscripted(name: str) -> str:
    """h_1 → h₁, n_h → nₕ, W_hx → Wₕₓ, hbar_1 → h̄₁, abardot → ā̇, mu → μ, Sigma_1 → Σ₁;
    names whose subscript has no Unicode form stay."""
    base, sep, sub = name.partition("_")
    base = GREEK.get(base, base)
    found = accented(base)
    if found is not None:  # the accents over the letter: h1bar → h̄1 (h̄₁ is hbar_1), nubar → ν̄
        letters, digits, marks = found
        base = _LETTERS.get(letters, letters) + "".join(_ACCENTS[mark] for mark in marks) + digits
        if not sep:
            return base
    if sep and sub and "_" not in sub and all(c in _SUBSCRIPT_CHARS for c in sub):
        return base + "".join(_SUBSCRIPT_CHARS[c] for c in sub)
    return base + sep + sub


_LABEL_NAME = re.compile(  # ASCII word boundaries: ᵀ is a letter to \b (∂muᵀ)
    r"[A-Za-z]+_[A-Za-z0-9]+|(?<![A-Za-z0-9_])[A-Za-z]+\d*(?:bar|dot|tilde|hat){1,3}(?![A-Za-z0-9_])"
    rf"|(?<![A-Za-z0-9_])(?:{'|'.join(GREEK)})(?![A-Za-z0-9_])"
)


def label(text: str) -> str:
    """The names in a step label as printed: ∂h_1/∂vec(W_hx) → ∂h₁/∂vec(Wₕₓ),
    ∂p/∂abar → ∂p/∂ā, ∂f/∂Sigma → ∂f/∂Σ."""
    return _LABEL_NAME.sub(lambda m: subscripted(m.group(0)), text)
