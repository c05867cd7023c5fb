"""Op families. Each module defines its primitives with impl, JVP, VJP and batch rules side by side, and the
NumPy-compatible functions that bind them. Importing this package installs operators on traced values."""
from . import elementwise, shape, reduction, indexing, linalg, methods  # noqa: F401
