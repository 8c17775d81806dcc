-- What a restart needs to rebuild the re-send window from `events`: which
-- rows carry an id the sender chose, and a fast way to find the rows
-- received within `ingest.dedup_window`.
--
-- `id_from_sender` is true when the sender chose `event_id`. Only such an
-- id can come back in a re-send, and the window holds no other kind while
-- the server runs. Without the column, server-generated ids (every CEF
-- event has one) would fill the rebuilt window and push out the ids it
-- exists for. A row leaves the field out when the sender chose the id, so
-- the common row carries no extra bytes and gets the DEFAULT. Rows stored
-- before this migration read as true too, so the first rebuild after the
-- upgrade keeps every id it can.
--
-- `received_at` is the time the server accepted the event. It is not in
-- the sort key, so without the minmax skip index the start-up query would
-- read the column of every part kept over the retention period. With it,
-- the query reads only the granules inserted recently, since each insert's
-- rows were received within seconds of each other
-- (`node dist/bench/resend-window.js` measures this).
--
-- MATERIALIZE INDEX builds the index for parts written before this
-- migration. It runs as a mutation in the background, so the migration
-- does not wait for it. Until it ends, the old parts are read whole.
ALTER TABLE events ADD COLUMN IF NOT EXISTS id_from_sender Bool DEFAULT true AFTER event_id;

ALTER TABLE events ADD INDEX IF NOT EXISTS idx_received_at received_at TYPE minmax GRANULARITY 1;

ALTER TABLE events MATERIALIZE INDEX idx_received_at;
