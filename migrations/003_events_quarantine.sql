-- Input that failed validation or that the server refused to store.
-- ClickHouse has no cheap row UPDATE, so reprocessing writes a new version
-- of the row with a higher state_version; ReplacingMergeTree keeps the
-- newest version per sort key when it merges, and readers pick the newest
-- with FINAL or argMax until then. quarantined_at never changes for an
-- entry, so every version of it lands in the same daily partition.
CREATE TABLE IF NOT EXISTS events_quarantine (
    quarantine_id UUID,
    quarantined_at DateTime64(6, 'UTC') DEFAULT now64(6),
    tenant_id LowCardinality(String),
    raw_event String CODEC(ZSTD(3)),
    source_ip String,
    source_format LowCardinality(String),
    validation_errors Array(String),
    error_code LowCardinality(String),
    reprocess_attempts UInt8 DEFAULT 0,
    reprocessed Bool DEFAULT false,
    reprocessed_at Nullable(DateTime64(6, 'UTC')),
    reprocessed_event_id Nullable(UUID),
    state_version UInt32 DEFAULT 0
)
ENGINE = ReplacingMergeTree(state_version)
PARTITION BY toDate(quarantined_at)
ORDER BY (tenant_id, quarantined_at, quarantine_id)
TTL toDateTime(quarantined_at) + INTERVAL 30 DAY DELETE
SETTINGS
    index_granularity = 8192,
    ttl_only_drop_parts = 1,
    non_replicated_deduplication_window = 100000;
