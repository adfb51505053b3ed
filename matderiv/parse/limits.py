"""Bounds on what the front ends accept, so hostile input fails fast with a ParseError:
the length of a formula, how deep it nests, and the size of its numbers and exponents."""

MAX_LENGTH = 10_000  # characters
MAX_DEPTH = 200  # nested brackets or operators
MAX_DIGITS = 30  # in a number or an exponent
MAX_EXPONENT = 1_000
MAX_MAGNITUDE = 400  # decimal digits of a number's size: |value| in 10^±400
MAX_MATRIX_POWER = 100  # matrix_power(A, k): the derivative of Aᵏ has |k| terms
