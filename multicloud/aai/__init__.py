"""The one A&AI client (ONAP's Active and Available Inventory), used in ``aai`` registry mode."""
