-- Pruning finds deliveries past the retention period through this index instead of reading
-- every stored delivery's row.
CREATE INDEX deliveries_received ON deliveries (received_ms);
