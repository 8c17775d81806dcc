-- Hourly rollup for dashboards. SummingMergeTree adds up every numeric
-- column outside the sort key when it merges parts, so severity_max is a
-- SimpleAggregateFunction(max): merges keep the maximum instead of summing
-- maxima. Merges are eventual, so readers must still GROUP BY the key and
-- apply sum() and max() themselves.
CREATE TABLE IF NOT EXISTS events_hourly (
    tenant_id LowCardinality(String),
    source_product LowCardinality(String),
    action LowCardinality(String),
    outcome Enum8('success' = 1, 'failure' = 2, 'unknown' = 3),
    hour DateTime('UTC'),
    event_count UInt64,
    severity_sum UInt64,
    severity_max SimpleAggregateFunction(max, UInt8)
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant_id, hour, source_product, action, outcome)
TTL hour + INTERVAL 90 DAY DELETE
SETTINGS non_replicated_deduplication_window = 100000;

CREATE MATERIALIZED VIEW IF NOT EXISTS events_hourly_mv
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
