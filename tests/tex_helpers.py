"""Reading back what the LaTeX renderer writes, for the tests."""

from __future__ import annotations


def standalone_title(latex: str) -> str:
    """The formula of a standalone document's first line: one $...$, or (long) the rows
    of an align*, joined."""
    head = latex.split("\\begin{document}\n", 1)[1]
    if head.startswith("\\noindent$"):
        return head.split("$", 2)[1].removeprefix(r"\displaystyle ")
    rows = head.split("\\end{align*}", 1)[0].removeprefix("\\begin{align*}\n").split(" \\\\\n")
    rows[-1] = rows[-1].rsplit(r" \tag*{", 1)[0]  # the shape
    return " ".join(r.split("&= ", 1)[1] if "&= " in r else r.removeprefix("&") for r in rows)
