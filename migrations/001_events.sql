-- Canonical events. Partitions are daily so that, with ttl_only_drop_parts,
-- a part expires within a day of the retention policy instead of waiting
-- for a whole month to age out. The TTL here is the default; start-up
-- applies retention.events_days with MODIFY TTL.
--
-- non_replicated_deduplication_window keeps the hashes of the last N insert
-- blocks, so a batch re-sent with the same insert_deduplication_token (a
-- writer retry, or a spool replay after a crash) is stored once. The window
-- must cover every block that can be replayed: the spool replays at most the
-- batches that were sealed and not yet committed, and each batch makes one
-- block per daily partition it touches (at most 8, because events older
-- than 7 days are rejected). 100000 blocks covers far more than any spool
-- holds between two commits.
CREATE TABLE IF NOT EXISTS events (
    event_id UUID,
    tenant_id LowCardinality(String),
    timestamp DateTime64(6, 'UTC'),
    received_at DateTime64(6, 'UTC') DEFAULT now64(6),
    source_product LowCardinality(String),
    source_host String,
    source_instance_id String,
    source_version LowCardinality(String),
    actor_type Enum8('user' = 1, 'process' = 2, 'service' = 3, 'system' = 4, 'unknown' = 5),
    actor_id String,
    actor_name String,
    actor_email String,
    actor_ip String,
    action LowCardinality(String),
    target String,
    outcome Enum8('success' = 1, 'failure' = 2, 'unknown' = 3),
    severity UInt8,
    schema_version LowCardinality(String),
    raw String CODEC(ZSTD(3)),
    metadata String CODEC(ZSTD(3)),
    INDEX idx_action action TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_actor_id actor_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_target target TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_source_host source_host TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_raw_tokens raw TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (tenant_id, source_product, toStartOfHour(timestamp), event_id)
TTL toDateTime(timestamp) + INTERVAL 90 DAY DELETE
SETTINGS
    index_granularity = 8192,
    ttl_only_drop_parts = 1,
    non_replicated_deduplication_window = 100000;

-- Events with severity >= 8, kept longer than the rest.
CREATE TABLE IF NOT EXISTS events_critical (
    event_id UUID,
    tenant_id LowCardinality(String),
    timestamp DateTime64(6, 'UTC'),
    source_product LowCardinality(String),
    action LowCardinality(String),
    actor_id String,
    target String,
    severity UInt8,
    raw String CODEC(ZSTD(3))
)
ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (tenant_id, timestamp, event_id)
TTL toDateTime(timestamp) + INTERVAL 365 DAY DELETE
SETTINGS
    ttl_only_drop_parts = 1,
    non_replicated_deduplication_window = 100000;

CREATE MATERIALIZED VIEW IF NOT EXISTS events_critical_mv
TO events_critical
AS SELECT
    event_id,
    tenant_id,
    timestamp,
    source_product,
    action,
    actor_id,
    target,
    severity,
    raw
FROM events
WHERE severity >= 8;
