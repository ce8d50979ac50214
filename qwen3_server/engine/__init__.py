"""The inference engine: requests in, tokens and text out, on its own thread."""
