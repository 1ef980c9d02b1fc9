"""The documentation site's build helpers: the mkdocs hooks, the offline check and the snippet collector."""
