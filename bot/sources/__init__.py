"""Commit sources: a local git repository and GitHub, behind one interface."""
