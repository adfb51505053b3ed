"""Renderers: each reads a Derivation and never recomputes math."""
