-- How a delivery's body is stored: as received, or LZ4-compressed (a 4-byte length first).
ALTER TABLE deliveries ADD COLUMN encoding TEXT NOT NULL DEFAULT 'identity'
    CHECK (encoding IN ('identity', 'lz4'));
