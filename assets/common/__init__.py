"""Helpers every asset group shares: manifests, outputs, GX checks, previews, seeding."""
