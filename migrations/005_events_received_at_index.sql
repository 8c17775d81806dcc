-- A minmax skip index on `received_at`, the time the server accepted each
-- event. At start-up the server reads the ids received within
-- `ingest.dedup_window` to rebuild its re-send window. `received_at` is not
-- in the sort key, so without the index that query reads the whole column
-- of every part; with it, it reads only the granules inserted recently,
-- since each insert's rows were received within seconds of each other.
-- `node dist/bench/resend-window.js` measures both.
--
-- MATERIALIZE INDEX builds the index for parts written before this
-- migration. It runs as a mutation in the background, so the migration
-- does not wait for it; until it ends, the old parts are read whole.
ALTER TABLE events ADD INDEX IF NOT EXISTS idx_received_at received_at TYPE minmax GRANULARITY 1;

ALTER TABLE events MATERIALIZE INDEX idx_received_at;
