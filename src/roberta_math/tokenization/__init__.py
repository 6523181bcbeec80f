"""Tokenization written out by hand, to check against the real tokenizer."""
