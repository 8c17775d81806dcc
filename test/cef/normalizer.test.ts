import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { loadConfig } from '../../src/config/load.js'
import { CefNormalizer, type CefCanonicalEvent } from '../../src/ingest/cef/normalizer.js'
import type { Candidate } from '../../src/ingest/types.js'
import { EventValidator } from '../../src/schema/validate.js'

const config = loadConfig({ env: {} })
const normalizer = new CefNormalizer(config.cef)
const validator = new EventValidator(config.validation)
const RECEIVED_AT = Date.now()
const context = { receivedAt: RECEIVED_AT, peerAddress: '198.51.100.7' }

function normalize(line: string): CefCanonicalEvent {
  const candidate = normalizer.normalize(line, context)
  assert.equal(candidate.kind, 'object', `expected an object for ${line}`)
  return (candidate as Extract<Candidate, { kind: 'object' }>).value as CefCanonicalEvent
}

function assertValid(event: CefCanonicalEvent): void {
  const result = validator.validate({ value: event, rawText: event.raw, tenantId: 'default', receivedAt: RECEIVED_AT * 1000 })
  assert.ok(result.ok, `validator rejected ${JSON.stringify(event)}: ${JSON.stringify(!result.ok && result.errors)}`)
}

const nowRt = `rt=${RECEIVED_AT - 60_000}`

describe('CEF normalizer', () => {
  test('issue sample with escaped pipe', () => {
    const event = normalize('CEF:1|Product|Vendor|7|op1\\|op2|Info|5|act=blocked a | dst=192.0.2.2')
    assert.equal(event.source.product, 'Vendor')
    assert.equal(event.source.instance_id, 'op1|op2')
    assert.equal(event.source.version, '7')
    assert.equal(event.source.host, '198.51.100.7')
    assert.equal(event.severity, 5)
    assert.equal(event.outcome, 'failure')
    assert.equal(event.action, 'blocked_a')
    assert.equal(event.target, '192.0.2.2')
    assert.equal(event.metadata.act, 'blocked a |')
    assert.equal(event.metadata.cef_name, 'Info')
    assert.equal(event.metadata.cef_device_vendor, 'Product')
    assert.equal(event.metadata.time_source, 'receive')
    assertValid(event)
  })

  test('equals sign inside msg', () => {
    const event = normalize('CEF:0|V|P|1|1|n|3|msg=key=aGVsbG8= spt=2')
    assert.equal(event.metadata.msg, 'key=aGVsbG8=')
    assert.equal(event.metadata.spt, '2')
    assert.equal(event.action, 'n')
    assertValid(event)
  })

  test('header without extension is valid', () => {
    const event = normalize('CEF:0|V|P|1.0|100|n|10|')
    assert.equal(event.action, 'session.created')
    assert.equal(event.severity, 10)
    assert.equal(event.outcome, 'unknown')
    assert.equal(event.actor, undefined)
    assert.equal(event.target, undefined)
    assert.equal(event.raw, 'CEF:0|V|P|1.0|100|n|10|')
    assertValid(event)
  })

  test('incomplete header goes to quarantine', () => {
    const line = 'CEF:0|V|Mgmt|activityID=1111111111111111111 activityType=3505'
    const candidate = normalizer.normalize(line, context)
    assert.equal(candidate.kind, 'unparsable')
    if (candidate.kind !== 'unparsable') return
    assert.equal(candidate.rawText, line)
    assert.equal(candidate.errorCode, 'cef_parse_error')
    assert.equal(candidate.errors[0]?.code, 'cef_header_incomplete')
  })

  test('boundary-daemon mapping by signature id', () => {
    const expected: Record<string, string> = {
      '100': 'session.created',
      '101': 'session.terminated',
      '102': 'session.expired',
      '200': 'auth.login',
      '201': 'auth.logout',
      '400': 'auth.failure',
      '401': 'auth.mfa_failure',
      '500': 'access.granted',
      '501': 'access.denied',
    }
    for (const [id, action] of Object.entries(expected)) {
      assert.equal(normalize(`CEF:0|Boundary|boundary-daemon|1.2|${id}|Some Name|3|${nowRt}`).action, action)
    }
  })

  test('action map by name and prototype keys', () => {
    const custom = new CefNormalizer({ ...config.cef, action_map: { 'Port Scan': 'network.scan' } })
    const byName = custom.normalize('CEF:0|V|P|1|9|Port Scan|3|', context)
    assert.equal(byName.kind === 'object' && (byName.value as CefCanonicalEvent).action, 'network.scan')
    const proto = custom.normalize('CEF:0|V|P|1|constructor|toString|3|', context)
    assert.equal(proto.kind === 'object' && (proto.value as CefCanonicalEvent).action, 'tostring')
  })

  test('action falls back to act then name', () => {
    assert.equal(normalize('CEF:0|V|P|1|9|Port Scan Detected|3|act=Deny').action, 'deny')
    assert.equal(normalize('CEF:0|V|P|1|9|Port Scan Detected|3|').action, 'port_scan_detected')
    assert.equal(normalize('CEF:0|V|P|1|9|1234|3|').action, 'unknown')
  })

  test('source host order', () => {
    const all = 'dvchost=a.example shost=b.example dvc=192.0.2.3'
    assert.equal(normalize(`Sep 29 08:26:10 host-a CEF:0|V|P|1|1|n|3|${all}`).source.host, 'a.example')
    assert.equal(normalize(`Sep 29 08:26:10 host-a CEF:0|V|P|1|1|n|3|shost=b.example dvc=192.0.2.3`).source.host, 'b.example')
    assert.equal(normalize(`Sep 29 08:26:10 host-a CEF:0|V|P|1|1|n|3|dvc=192.0.2.3`).source.host, '192.0.2.3')
    assert.equal(normalize(`Sep 29 08:26:10 host-a CEF:0|V|P|1|1|n|3|`).source.host, 'host-a')
    assert.equal(normalize(`CEF:0|V|P|1|1|n|3|`).source.host, '198.51.100.7')
    const event = normalize(`Sep 29 08:26:10 host-a CEF:0|V|P|1|1|n|3|${all}`)
    assert.equal(event.metadata.syslog_host, 'host-a')
    assert.equal(event.metadata.shost, 'b.example')
    assert.equal(event.metadata.dvchost, undefined)
  })

  test('actor from suser suid src', () => {
    const event = normalize(`CEF:0|V|P|1|1|n|3|suser=alice suid=1001 src=192.0.2.10 ${nowRt}`)
    assert.deepEqual(event.actor, { type: 'user', name: 'alice', id: '1001', ip_address: '192.0.2.10' })
    assert.equal(event.metadata.suser, undefined)
    assertValid(event)
    const addressOnly = normalize('CEF:0|V|P|1|1|n|3|src=2001:db8::1')
    assert.deepEqual(addressOnly.actor, { type: 'unknown', ip_address: '2001:db8::1' })
    const badAddress = normalize('CEF:0|V|P|1|1|n|3|src=not-an-ip')
    assert.equal(badAddress.actor, undefined)
    assert.equal(badAddress.metadata.src, 'not-an-ip')
  })

  test('target order', () => {
    const fields = 'dhost=h.example dst=192.0.2.2 duser=bob filePath=/etc/passwd request=https://example.net/'
    assert.equal(normalize(`CEF:0|V|P|1|1|n|3|${fields}`).target, 'h.example')
    assert.equal(normalize('CEF:0|V|P|1|1|n|3|duser=bob filePath=/etc/passwd').target, 'bob')
    assert.equal(normalize('CEF:0|V|P|1|1|n|3|filePath=/etc/passwd').target, '/etc/passwd')
    assert.equal(normalize('CEF:0|V|P|1|1|n|3|request=https://example.net/').target, 'https://example.net/')
    const event = normalize(`CEF:0|V|P|1|1|n|3|${fields}`)
    assert.equal(event.metadata.dst, '192.0.2.2')
    assert.equal(event.metadata.dhost, undefined)
  })

  test('outcome from outcome then act', () => {
    assert.equal(normalize('CEF:0|V|P|1|1|n|3|outcome=Success').outcome, 'success')
    assert.equal(normalize('CEF:0|V|P|1|1|n|3|outcome=/Failure').outcome, 'failure')
    assert.equal(normalize('CEF:0|V|P|1|1|n|3|outcome=failed act=allow').outcome, 'failure')
    assert.equal(normalize('CEF:0|V|P|1|1|n|3|outcome=maybe act=allow').outcome, 'success')
    assert.equal(normalize('CEF:0|V|P|1|1|n|3|act=dropped').outcome, 'failure')
    assert.equal(normalize('CEF:0|V|P|1|1|n|3|act=permit').outcome, 'success')
    assert.equal(normalize('CEF:0|V|P|1|1|n|3|act=alert').outcome, 'unknown')
    assert.equal(normalize('CEF:0|V|P|1|1|n|3|outcome=maybe').metadata.outcome, 'maybe')
  })

  test('severity originals in metadata', () => {
    assert.equal(normalize('CEF:0|V|P|1|1|n|Low|').severity, 3)
    assert.equal(normalize('CEF:0|V|P|1|1|n|very-high|').severity, 10)
    const unknown = normalize('CEF:0|V|P|1|1|n|Unknown|')
    assert.equal(unknown.severity, config.cef.default_severity)
    assert.equal(unknown.metadata.cef_severity, 'Unknown')
    assert.equal(normalize('CEF:0|V|P|1|1|n|0|').severity, 1)
    const high = normalize('CEF:0|V|P|1|1|n|11|')
    assert.equal(high.severity, 10)
    assert.equal(high.metadata.cef_severity, '11')
  })

  test('time from rt start end syslog receive', () => {
    const rt = RECEIVED_AT - 3_600_000
    const iso = new Date(rt).toISOString()
    assert.equal(normalize(`CEF:0|V|P|1|1|n|3|rt=${rt} start=${rt - 5000}`).timestamp, iso)
    assert.equal(normalize(`CEF:0|V|P|1|1|n|3|rt=garbage start=${rt}`).timestamp, iso)
    assert.equal(normalize(`CEF:0|V|P|1|1|n|3|rt=garbage start=${rt}`).metadata.rt, 'garbage')
    assert.equal(normalize(`CEF:0|V|P|1|1|n|3|end=${rt}`).timestamp, iso)
    const syslog = normalize(`<165>1 ${iso} h app - - - CEF:0|V|P|1|1|n|3|`)
    assert.equal(syslog.timestamp, iso)
    assert.equal(syslog.metadata.time_source, 'syslog')
    const received = normalize('CEF:0|V|P|1|1|n|3|')
    assert.equal(received.timestamp, new Date(RECEIVED_AT).toISOString())
    assert.equal(received.metadata.time_source, 'receive')
  })

  test('microseconds kept', () => {
    const event = normalize('CEF:0|V|P|1|1|n|3|rt=2026-04-15T03:05:38.856294523-07:00')
    assert.equal(event.timestamp, '2026-04-15T10:05:38.856294Z')
  })

  test('custom fields named by label', () => {
    const event = normalize(
      'CEF:0|V|P|1|1|n|3|cs1Label=Rule Name cs1=Block SMB cn1=42 cn1Label=Hits cs2=no label ' +
        'deviceCustomDate1=1505922484252 deviceCustomDate1Label=First Seen cs3Label=msg cs3=collides msg=hi ' +
        'flexString1Label=Zone flexString1=dmz cn2Label=Ratio cn2=n/a',
    )
    assert.equal(event.metadata['Rule Name'], 'Block SMB')
    assert.equal(event.metadata.Hits, 42)
    assert.equal(event.metadata.cs2, 'no label')
    assert.equal(event.metadata['First Seen'], '2017-09-20T15:48:04.252Z')
    assert.equal(event.metadata.msg, 'hi')
    assert.equal(event.metadata['msg (cs3)'], 'collides')
    assert.equal(event.metadata.Zone, 'dmz')
    assert.equal(event.metadata.Ratio, 'n/a')
    assert.equal(event.metadata.cs1Label, undefined)
    assert.equal(event.metadata.cs1, undefined)
  })

  test('label named __proto__ stays an entry', () => {
    const event = normalize('CEF:0|V|P|1|1|n|3|cs1Label=__proto__ cs1=x')
    assert.ok(Object.hasOwn(event.metadata, '__proto__'))
    assert.equal(JSON.parse(JSON.stringify(event.metadata)).__proto__, 'x')
  })

  test('message over max size is quarantined truncated', () => {
    const small = new CefNormalizer({ ...config.cef, max_message_size: 100 })
    const line = `CEF:0|V|P|1|1|n|3|msg=${'x'.repeat(200)}`
    const candidate = small.normalize(line, context)
    assert.equal(candidate.kind, 'unparsable')
    if (candidate.kind !== 'unparsable') return
    assert.equal(candidate.errorCode, 'cef_message_too_large')
    assert.equal(candidate.rawText.length, 100)
    const multibyte = `CEF:0|V|P|1|1|n|3|msg=${'é'.repeat(45)}`
    assert.ok(multibyte.length <= 100)
    assert.equal(small.normalize(multibyte, context).kind, 'unparsable')
  })

  test('syslog prefixes give the same event', () => {
    const body = `CEF:0|V|P|1|1|n|3|msg=key=aGVsbG8= spt=2 ${nowRt}`
    const bare = normalize(body)
    const prefixed = [
      'Sep 29 08:26:10 host-a ',
      '<132>Aug 14 14:26:55 ',
      'Jul 10 10:39:04 alert.notice 192.0.2.9 Fwd: ',
      '<165>1 2024-05-01T10:00:00.123Z host-b app - ID47 - \uFEFF',
    ]
    const hosts = ['host-a', '198.51.100.7', '192.0.2.9', 'host-b']
    prefixed.forEach((prefix, index) => {
      const event = normalize(prefix + body)
      assert.equal(event.timestamp, bare.timestamp)
      assert.equal(event.action, bare.action)
      assert.deepEqual(event.metadata, bare.metadata)
      assert.equal(event.source.host, hosts[index])
      assert.equal(event.raw, prefix + body)
    })
  })
})

test('oversized line is cut between surrogate pairs', () => {
  const small = new CefNormalizer({ ...config.cef, max_message_size: 41 })
  const line = 'CEF:0|V|P|1|100|n|3|msg=' + '\u{1F600}'.repeat(20)
  const candidate = small.normalize(line, context)
  assert.equal(candidate.kind, 'unparsable')
  const last = candidate.rawText.charCodeAt(candidate.rawText.length - 1)
  assert.ok(last < 0xd800 || last > 0xdbff, 'raw text ends on a whole character')
})
