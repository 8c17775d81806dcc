-- Rebuilds `events` so that rows sort by time inside each tenant and
-- product, with codecs chosen for that order. With the old key (hour, then
-- event_id) the rows of an hour were in random order: timestamps did not
-- delta-encode and similar raw lines from one host were far apart. In the
-- storage stage of `npm run bench` an event took 69 compressed bytes in
-- `events` before and 35 after (BENCHMARKS.md). The columns and their
-- order do not change.
--
-- ClickHouse cannot change a sort key in place, so the events are copied
-- into a new table that then takes the old one's name. Each step can run
-- again after a crash: the copy starts over from whichever table is called
-- `events` at that moment, which holds every event. The copy is one INSERT
-- over every daily partition, so it lifts the limit of 100 partitions an
-- insert block, which any retention above 100 days would pass. The
-- materialized views are dropped only after the copy and made again right
-- after the swap, so a failed copy leaves the views in place.
--
-- The new table has no TTL. Start-up (and `siem migrate`) applies
-- `retention.events_days` with MODIFY TTL right after the migrations; a
-- default TTL here could let a merge drop days that a longer configured
-- retention keeps before that happens.
--
-- Run it with ingest stopped: the server applies migrations at start-up,
-- before it accepts events, and `siem migrate` does the same for a shared
-- server. The copy takes time in proportion to the events stored. It does
-- not carry over the insert deduplication log, so stop the old version
-- cleanly (its spool then holds no batch waiting for an answer) before the
-- first start of this one.
DROP TABLE IF EXISTS events_rebuild;

CREATE TABLE events_rebuild (
    event_id UUID,
    tenant_id LowCardinality(String),
    timestamp DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    received_at DateTime64(6, 'UTC') DEFAULT now64(6) CODEC(Delta, ZSTD(1)),
    source_product LowCardinality(String),
    source_host String CODEC(ZSTD(1)),
    source_instance_id String CODEC(ZSTD(1)),
    source_version LowCardinality(String),
    actor_type Enum8('user' = 1, 'process' = 2, 'service' = 3, 'system' = 4, 'unknown' = 5),
    actor_id String CODEC(ZSTD(1)),
    actor_name String CODEC(ZSTD(1)),
    actor_email String CODEC(ZSTD(1)),
    actor_ip String CODEC(ZSTD(1)),
    action LowCardinality(String),
    target String CODEC(ZSTD(1)),
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
ORDER BY (tenant_id, source_product, timestamp, event_id)
SETTINGS
    index_granularity = 8192,
    ttl_only_drop_parts = 1,
    non_replicated_deduplication_window = 100000;

INSERT INTO events_rebuild SETTINGS max_partitions_per_insert_block = 0 SELECT * FROM events;

DROP VIEW IF EXISTS events_critical_mv;

DROP VIEW IF EXISTS events_hourly_mv;

EXCHANGE TABLES events_rebuild AND events;

DROP TABLE events_rebuild;

CREATE MATERIALIZED VIEW events_critical_mv
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

CREATE MATERIALIZED VIEW events_hourly_mv
TO events_hourly
AS SELECT
    tenant_id,
    source_product,
    action,
    outcome,
    toStartOfHour(timestamp) AS hour,
    count() AS event_count,
    sum(severity) AS severity_sum,
    max(severity) AS severity_max
FROM events
GROUP BY tenant_id, source_product, action, outcome, hour;
