"""HTTP intake: parse, validate, enrich (geo, device, referrer), drop bots."""
