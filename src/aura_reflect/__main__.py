"""``python -m aura_reflect``: the ``aura`` command, for environments without the console script."""

from .cli import app

app(prog_name="aura")
