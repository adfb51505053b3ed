"""``python -m matderiv``: the command line (see ``matderiv.cli``)."""

from .cli import main

if __name__ == "__main__":
    main()
