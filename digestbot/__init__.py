"""Composition root: builds the core, the adapters and the scheduler, and runs them."""
