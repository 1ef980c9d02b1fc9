"""Side-by-side client benchmarks for microdc (issue 6; PRODUCT.md section 3).

``python -m benchmarks`` starts a loopback MicroDC server in its own process
(:mod:`benchmarks.server`), runs every client variant (:mod:`benchmarks.variants`)
in its own process per repetition (:mod:`benchmarks.worker`), interleaved, and
writes a Markdown and a JSON report (:mod:`benchmarks.report`).
"""
