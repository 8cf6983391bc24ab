-- Bodies come compressed by the bot (LZ4, as the SQLite store keeps them): PostgreSQL compressing
-- a 13 KB webhook again with pglz cost more than the rest of its insert. `identity` rows (stored
-- before) are read as they are. A compressed body (~3 KB) stays in its row: no TOAST table
-- insert unless it is over 8 KB, and then never compressed a second time.
ALTER TABLE deliveries ADD COLUMN encoding TEXT NOT NULL DEFAULT 'identity';
ALTER TABLE deliveries ALTER COLUMN body SET STORAGE EXTERNAL;
ALTER TABLE deliveries SET (toast_tuple_target = 8160);
