"""Safe front ends: matderiv's expression syntax, LaTeX and the Unicode notation
matderiv prints, parsed into SymPy.

Grammars map to SymPy constructors by an allow-list; nothing is ever passed to
eval, exec, sympify or SymPy's own string parsers.
"""
