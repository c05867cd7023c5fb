"""The engine core: primitives, traces, pytrees, symbolic zeros, and the backend seam."""
