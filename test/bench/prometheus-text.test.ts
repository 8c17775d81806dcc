import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { prometheusSamples, prometheusTotal } from '../../bench/support/prometheus-text.js'

test('prometheus text reads labels and sums', async () => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const batches = new Histogram({ name: 'siem_writer_batch_size', help: 'rows', labelNames: ['table'], buckets: [10], registers: [registry] })
  batches.observe({ table: 'events' }, 4)
  batches.observe({ table: 'events_quarantine' }, 3)
  const body = await registry.metrics()

  assert.equal(prometheusTotal(body, 'siem_writer_batch_size_sum'), 7)
  assert.equal(prometheusTotal(body, 'siem_writer_batch_size_count'), 2)
  const spaces = prometheusSamples(body, 'nodejs_heap_space_size_total_bytes')
  assert.ok(spaces.some((sample) => sample.labels['space'] === 'old' && sample.value > 0))
  // A prefix of a longer metric name matches no sample of that metric.
  assert.ok(prometheusTotal(body, 'nodejs_heap_size_total_bytes') > 0)
  assert.ok(Number.isNaN(prometheusTotal(body, 'nodejs_heap_size')))
  assert.ok(Number.isNaN(prometheusTotal(body, 'siem_missing_metric')))
})
