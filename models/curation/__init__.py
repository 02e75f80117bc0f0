"""Learned helpers of curation: the aesthetic scorer, the safety classifier (and their real backends)."""
