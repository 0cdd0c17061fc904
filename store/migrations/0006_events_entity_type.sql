-- /logs filters and counts by entity_type (GET /logs?entity_type=…): by index, not a scan.
CREATE INDEX events_entity_type ON events (entity_type, id);
