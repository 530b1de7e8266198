"""Model Portal's JSON API (v1): DRF views and serializers over the registry's services."""
