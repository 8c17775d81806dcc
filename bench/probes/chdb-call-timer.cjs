/**
 * Preload for `siem serve` that logs each chdb call that blocks the calling
 * thread for more than 2 ms, with the statement's length, to the file named
 * by SIEM_PROBE_LOG. Only the server process writes, so it can be set for a
 * whole benchmark run:
 *
 *   SIEM_PROBE_LOG=/tmp/chdb-calls.log NODE_OPTIONS="--require ./bench/probes/chdb-call-timer.cjs" \
 *     node dist/bench/main.js --stages fixed-rate --no-record
 *
 * Each line is `<seconds since start> <method> <statement or payload length> <ms>`.
 */
const { appendFileSync } = require('node:fs')
const { performance } = require('node:perf_hooks')

const logPath = process.env.SIEM_PROBE_LOG
if (logPath !== undefined && process.argv.includes('serve')) {
  const { Session } = require('chdb')
  for (const method of ['queryAsync', 'insert']) {
    const original = Session.prototype[method]
    Session.prototype[method] = function timed(first, ...rest) {
      const started = performance.now()
      const result = original.call(this, first, ...rest)
      const blockedMs = performance.now() - started
      if (blockedMs > 2) {
        const size = typeof first === 'string' ? first.length : (first?.values?.length ?? 0)
        appendFileSync(logPath, `${(started / 1000).toFixed(3)} ${method} ${size} ${blockedMs.toFixed(1)}\n`)
      }
      return result
    }
  }
}
