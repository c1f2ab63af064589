"""Decides when digests are posted; nothing else."""
