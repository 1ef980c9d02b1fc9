"""``python -m microdc.lib.cli``: the ``microdc`` command without the console script."""

from . import main

main()
