"""The OpenAI-compatible HTTP layer: request models, routes, streaming, errors."""
