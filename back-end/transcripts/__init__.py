"""A finished job's result, rendered as text, SRT or WebVTT."""
