"""Evidence collection: from the tenant into an evidence bundle and the case store."""

from reclaim.collect.investigate import Investigation, investigate, parse_since

__all__ = ["Investigation", "investigate", "parse_since"]
