import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { assertExactlyOnce } from './support/id-sets.js'
import { runKillScenario, type KillScenarioResult } from './support/kill-scenario.js'

const KILLS = Number(process.env['SIEM_TEST_KILLS'] ?? 3)
let result: KillScenarioResult | undefined

after(async () => {
  if (result !== undefined) await rm(result.workDir, { recursive: true, force: true })
})

test('kill -9 with re-sends stores once', async () => {
  result = await runKillScenario({ kills: KILLS, loadMs: [300, 1500], startupKillShare: 0.3 })
  const { delivery, report } = result
  assert.deepEqual(result.serviceProblems, [])
  assert.deepEqual(result.anomalies, [])
  assert.ok(delivery.acknowledged.size > 0, `nothing was acknowledged: ${result.loadSummary}`)
  // The first kill always lands under load, so some requests are cut off and sent again after the restart.
  assert.ok(result.resentEvents > 0, `no request was sent again: ${result.loadSummary}`)
  assertExactlyOnce(delivery, report)
  assert.equal(result.duplicateRows, 0, 'GROUP BY event_id HAVING count() > 1 returned rows')
  assert.deepEqual(result.derivedProblems, [])
})
