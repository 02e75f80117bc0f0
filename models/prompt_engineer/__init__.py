"""Prompt engineering (report 2.4): a causal LM that rewrites user prompts into dense captions."""
