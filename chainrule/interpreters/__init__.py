"""Interpreters: reverse mode (nodes and the backward pass), forward mode (JVP), batching (vmap)."""
