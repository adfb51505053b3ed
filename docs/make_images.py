"""Regenerate the images in docs/: ``python docs/make_images.py``.

docs/rnn_step.png is the LaTeX rendering of the worked RNN example (``matderiv example
rnn``), exactly as ``Derivation.to_latex(standalone=True)`` writes it, with two changes to
the page only: one tall page instead of A4, so the derivation is not split, and no page
number.  It is compiled with pdflatex, rasterised with pdftoppm at 150 dpi and cropped to
the ink plus a small margin.  Needs pdflatex (TeX Live: amsmath, amssymb, geometry) and
pdftoppm (poppler-utils) on the PATH.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from matderiv import derive
from matderiv.examples import rnn_step

DOCS = Path(__file__).resolve().parent
DPI = 150
MARGIN = 12  # pixels of white kept around the ink
PAGE = r"\usepackage[paperwidth=19cm,paperheight=120cm,margin=1cm]{geometry}"


def rnn_step_latex() -> str:
    ex = rnn_step()
    d = derive(ex.expr, ex.wrt, ex.layout, names=ex.names)
    return d.to_latex(standalone=True)


def one_tall_page(document: str) -> str:
    """The same document on one tall page without a page number."""
    document, count = re.subn(r"\\usepackage(\[[^\]]*\])?\{geometry\}", lambda _: PAGE, document)
    if count == 0:
        start = re.compile(r"(\\documentclass[^\n]*\n)")
        document = start.sub(lambda m: m.group(1) + PAGE + "\n", document, count=1)
    return document.replace(r"\begin{document}", "\\begin{document}\n\\pagestyle{empty}", 1)


def require(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        sys.exit(
            f"make_images: {', '.join(missing)} not found on PATH. Install TeX Live "
            "(pdflatex, e.g. apt-get install texlive-latex-recommended) and poppler-utils "
            "(pdftoppm)."
        )


def compile_pdf(document: str, workdir: Path) -> Path:
    tex = workdir / "figure.tex"
    tex.write_text(document, encoding="utf-8")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=workdir,
        capture_output=True,
        text=True,
        errors="replace",
    )
    log = (workdir / "figure.log").read_text(errors="replace") if run.returncode == 0 else ""
    if run.returncode != 0:
        tail = "\n".join(run.stdout.splitlines()[-25:])
        sys.exit(f"make_images: pdflatex failed on the derivation's LaTeX:\n{tail}")
    pages = re.search(r"Output written on .*?\((\d+) pages?", log)
    if pages is None or int(pages.group(1)) != 1:
        sys.exit("make_images: the derivation did not fit on one page; raise paperheight in PAGE")
    return workdir / "figure.pdf"


def ink_box(pdf: Path) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the non-white pixels at DPI, plus MARGIN, clipped to the page."""
    pgm = subprocess.run(
        ["pdftoppm", "-gray", "-r", str(DPI), "-singlefile", str(pdf)],
        capture_output=True,
        check=True,
    ).stdout
    header = re.match(rb"P5\s+(?:#[^\n]*\n\s*)*(\d+)\s+(\d+)\s+(\d+)\s", pgm)
    if header is None:
        sys.exit("make_images: unexpected output from pdftoppm -gray (not a binary PGM)")
    width, height = int(header.group(1)), int(header.group(2))
    pixels = np.frombuffer(pgm, np.uint8, width * height, header.end()).reshape(height, width)
    ink = np.argwhere(pixels < 250)
    if ink.size == 0:
        sys.exit("make_images: the rendered page is blank")
    (top, left), (bottom, right) = ink.min(axis=0), ink.max(axis=0)
    x0, y0 = max(int(left) - MARGIN, 0), max(int(top) - MARGIN, 0)
    x1, y1 = min(int(right) + MARGIN, width - 1), min(int(bottom) + MARGIN, height - 1)
    return x0, y0, x1 - x0 + 1, y1 - y0 + 1


def render_png(document: str, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="matderiv-docs-") as tmp:
        workdir = Path(tmp)
        pdf = compile_pdf(document, workdir)
        x, y, w, h = ink_box(pdf)
        crop = ["-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h)]
        png = ["pdftoppm", "-png", "-r", str(DPI), "-singlefile", *crop]
        subprocess.run([*png, str(pdf), str(workdir / "out")], check=True)
        shutil.copyfile(workdir / "out.png", target)
    print(f"wrote {target} ({w} x {h} px)")


def main() -> None:
    require("pdflatex", "pdftoppm")
    render_png(one_tall_page(rnn_step_latex()), DOCS / "rnn_step.png")


if __name__ == "__main__":
    main()
