"""``python -m jido``: the ``jido`` command."""

from jido.cli import main

if __name__ == "__main__":
    main()
