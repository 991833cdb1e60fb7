"""Notebook tooling: build student notebooks from solutions, execute solutions, grade submissions."""
