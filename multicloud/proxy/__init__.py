"""OpenStack passthrough: Keystone tokens with a rewritten catalog, and every service proxied."""
