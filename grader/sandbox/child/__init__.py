"""Code that runs inside the sandbox: the zygote, its confinement steps and the harness.

These modules are bound read-only into the sandbox at ``/sandbox/lib`` and import only the
standard library (and numpy, in the harness). They never import ``grader``.
"""
