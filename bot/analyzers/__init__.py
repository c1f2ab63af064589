"""Analyzers: the offline rules and the model; each turns a commit into a CommitAnalysis."""
