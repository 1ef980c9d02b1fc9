"""The generator behind ``scripts/generate``: openapi.yml → the SDK's API layer.

Pipeline: ``spec`` reads openapi.yml (and ``config.yml``) into a small typed model;
``render_types``, ``render_resources``, ``render_client``, ``render_tests`` and
``render_docs`` turn it into source text; ``output`` formats the Python with ruff
(the project's settings) and writes it, or with ``--check`` compares it.

Adding an endpoint: describe it in openapi.yml with ``x-microdc-resource`` and
``x-microdc-method`` (plus ``x-microdc-pagination`` for a list, ``example``s for its
parameters), run ``scripts/generate``, and commit the spec with what it wrote. A new
resource also needs an entry under ``resources:`` in ``config.yml``. The generator
stops with an error naming the place when the spec uses something it does not
support, rather than guessing.
"""
