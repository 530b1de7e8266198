"""Events other systems hear of, and the webhooks that deliver them (signed, from the worker)."""
