import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseCefLine, type CefRecord } from '../../src/ingest/cef/parser.js'
import { mapSeverity } from '../../src/ingest/cef/severity.js'
import { formatInstant, parseCefTime, resolveFields } from '../../src/ingest/cef/time.js'
import { reduceToAction } from '../../src/ingest/cef/action.js'

function parse(line: string): CefRecord {
  const result = parseCefLine(line)
  assert.ok(result.ok, `expected ${JSON.stringify(line)} to parse`)
  return result.record
}

function timeOf(value: string, referenceMs = Date.UTC(2024, 5, 1)): string | null {
  const instant = parseCefTime(value, referenceMs)
  return instant === null ? null : formatInstant(instant)
}

const SAMPLE = 'CEF:0|V|P|1|1|n|3|msg=key=aGVsbG8= spt=2'

describe('CEF header', () => {
  test('escaped pipe in signature id', () => {
    const record = parse('CEF:1|Product|Vendor|7|op1\\|op2|Info|5|act=blocked a | dst=192.0.2.2')
    assert.equal(record.version, 1)
    assert.equal(record.deviceVendor, 'Product')
    assert.equal(record.deviceProduct, 'Vendor')
    assert.equal(record.deviceVersion, '7')
    assert.equal(record.signatureId, 'op1|op2')
    assert.equal(record.name, 'Info')
    assert.equal(record.severity, '5')
    assert.equal(record.extension.act, 'blocked a |')
    assert.equal(record.extension.dst, '192.0.2.2')
  })

  test('escaped backslash in header', () => {
    const record = parse('CEF:0|Ven\\\\dor|P\\x|1|sig|name \\| more|3|')
    assert.equal(record.deviceVendor, 'Ven\\dor')
    assert.equal(record.deviceProduct, 'P\\x')
    assert.equal(record.name, 'name | more')
  })

  test('header without extension', () => {
    const record = parse('CEF:0|V|P|1.0|100|n|10|')
    assert.equal(record.signatureId, '100')
    assert.equal(record.severity, '10')
    assert.deepEqual(Object.keys(record.extension), [])
  })

  test('incomplete header is an error', () => {
    const result = parseCefLine('CEF:0|V|Mgmt|activityID=1111111111111111111 activityType=3505')
    assert.equal(result.ok, false)
    if (!result.ok) assert.equal(result.error.code, 'cef_header_incomplete')
  })

  test('missing header is an error', () => {
    const result = parseCefLine('just some text CEF: without digits')
    assert.equal(result.ok, false)
    if (!result.ok) assert.equal(result.error.code, 'cef_header_missing')
  })

  test('unsupported version is an error', () => {
    const result = parseCefLine('CEF:2|V|P|1|1|n|3|')
    assert.equal(result.ok, false)
    if (!result.ok) assert.equal(result.error.code, 'cef_version_unsupported')
  })

  test('first CEF:<digits>| wins', () => {
    const record = parse('relay CEF:x said CEF:0|V|P|1|1|n|3|a=1')
    assert.equal(record.deviceVendor, 'V')
    assert.equal(record.extension.a, '1')
  })
})

describe('CEF extension', () => {
  test('equals sign inside a value', () => {
    const record = parse(SAMPLE)
    assert.equal(record.extension.msg, 'key=aGVsbG8=')
    assert.equal(record.extension.spt, '2')
  })

  test('escapes unescaped in one pass', () => {
    const record = parse('CEF:0|V|P|1|1|n|3|msg=a\\=b c\\\\d\\nline\\rx \\\\n end\\q x=1')
    assert.equal(record.extension.msg, 'a=b c\\d\nline\rx \\n end\\q')
    assert.equal(record.extension.x, '1')
  })

  test('escaped equals does not start a key', () => {
    const record = parse('CEF:0|V|P|1|1|n|3|msg=logname\\= uid\\=0 tty\\=ssh spt=22')
    assert.equal(record.extension.msg, 'logname= uid=0 tty=ssh')
    assert.equal(record.extension.spt, '22')
  })

  test('bare pipe and spaces in values', () => {
    const record = parse('CEF:0|V|P|1|1|n|3|msg=a | b  |c   dst=10.0.0.1   ')
    assert.equal(record.extension.msg, 'a | b  |c')
    assert.equal(record.extension.dst, '10.0.0.1')
  })

  test('empty values', () => {
    const record = parse('CEF:0|V|P|1|1|n|3|a= b=2 c=')
    assert.equal(record.extension.a, '')
    assert.equal(record.extension.b, '2')
    assert.equal(record.extension.c, '')
  })

  test('text before the first key is kept', () => {
    const record = parse('CEF:0|V|P|1|1|n|3|stray words a=1')
    assert.equal(record.extensionLeadingText, 'stray words')
    assert.equal(record.extension.a, '1')
  })

  test('repeated key keeps the last value', () => {
    const record = parse('CEF:0|V|P|1|1|n|3|a=1 a=2')
    assert.equal(record.extension.a, '2')
  })

  test('key named __proto__ is a plain field', () => {
    const record = parse('CEF:0|V|P|1|1|n|3|__proto__=x toString=y')
    assert.equal(record.extension.__proto__, 'x')
    assert.equal(record.extension.toString, 'y')
  })
})

describe('syslog prefixes', () => {
  const prefixes: Array<{ name: string; prefix: string; host: string | undefined; time: string | undefined }> = [
    { name: 'bare', prefix: '', host: undefined, time: undefined },
    { name: 'RFC 3164 with host', prefix: 'Sep 29 08:26:10 host-a ', host: 'host-a', time: '2024-09-29T08:26:10.000Z' },
    { name: 'RFC 3164 without host', prefix: '<132>Aug 14 14:26:55 ', host: undefined, time: '2024-08-14T14:26:55.000Z' },
    {
      name: 'relay prefix',
      prefix: 'Jul 10 10:39:04 alert.notice 192.0.2.9 Fwd: ',
      host: '192.0.2.9',
      time: '2024-07-10T10:39:04.000Z',
    },
    {
      name: 'RFC 5424 with BOM',
      prefix: '<165>1 2024-05-01T10:00:00.123456+02:00 host-b cefapp 1234 ID47 [meta a="b c"] \uFEFF',
      host: 'host-b',
      time: '2024-05-01T08:00:00.123456Z',
    },
    {
      name: 'RFC 3164 with tag',
      prefix: '<38>Dec  9 06:55:46 ssh-gw-01 sshd[24200]: ',
      host: 'ssh-gw-01',
      time: '2023-12-09T06:55:46.000Z',
    },
  ]
  const bare = parse(SAMPLE)
  for (const { name, prefix, host, time } of prefixes) {
    test(`${name} gives identical fields`, () => {
      const record = parse(prefix + SAMPLE)
      assert.equal(record.deviceVendor, bare.deviceVendor)
      assert.equal(record.deviceProduct, bare.deviceProduct)
      assert.equal(record.signatureId, bare.signatureId)
      assert.equal(record.name, bare.name)
      assert.equal(record.severity, bare.severity)
      assert.deepEqual({ ...record.extension }, { ...bare.extension })
      assert.equal(record.cefStart, prefix.length)
      assert.equal(record.syslog.host, host)
      const syslogTime = record.syslog.time
      if (time === undefined) {
        assert.equal(syslogTime, undefined)
      } else {
        assert.ok(syslogTime !== undefined)
        const instant =
          syslogTime.kind === 'instant' ? syslogTime.instant : resolveFields(syslogTime.fields, Date.UTC(2024, 5, 1))
        assert.ok(instant !== null)
        assert.equal(formatInstant(instant), time)
      }
    })
  }

  test('RFC 5424 nil host and time', () => {
    const record = parse('<14>1 - - app - - - ' + SAMPLE)
    assert.equal(record.syslog.host, undefined)
    assert.equal(record.syslog.time, undefined)
  })
})

describe('severity', () => {
  const cases: Array<[string, number, boolean]> = [
    ['Low', 3, false],
    ['medium', 6, false],
    ['HIGH', 8, false],
    ['very-high', 10, false],
    ['Very-High', 10, false],
    ['Unknown', 7, true],
    ['garbage', 7, true],
    ['0', 1, false],
    ['5', 5, false],
    ['10', 10, false],
    ['11', 10, true],
    ['250', 10, true],
    ['4.6', 5, true],
  ]
  for (const [value, expected, kept] of cases) {
    test(`severity ${value}`, () => {
      const mapped = mapSeverity(value, 7)
      assert.equal(mapped.severity, expected)
      assert.equal(mapped.original, kept ? value : undefined)
    })
  }
})

describe('time values', () => {
  test('epoch milliseconds', () => {
    assert.equal(timeOf('1505922484252'), '2017-09-20T15:48:04.252Z')
  })
  test('epoch seconds', () => {
    assert.equal(timeOf('1505922484'), '2017-09-20T15:48:04.000Z')
    assert.equal(timeOf('1505922484.252123'), '2017-09-20T15:48:04.252123Z')
  })
  test('ISO 8601 with offset and microseconds', () => {
    assert.equal(timeOf('2017-09-20T17:48:04.252123+02:00'), '2017-09-20T15:48:04.252123Z')
    assert.equal(timeOf('2017-09-20T15:48:04Z'), '2017-09-20T15:48:04.000Z')
    assert.equal(timeOf('2017-09-20 15:48:04'), '2017-09-20T15:48:04.000Z')
  })
  test('month day year format', () => {
    assert.equal(timeOf('Sep 20 2017 15:48:04'), '2017-09-20T15:48:04.000Z')
    assert.equal(timeOf('Sep 20 2017 15:48:04.252'), '2017-09-20T15:48:04.252Z')
    assert.equal(timeOf('Sep 20 2017 17:48:04.252 +0200'), '2017-09-20T15:48:04.252Z')
    assert.equal(timeOf('Sep 20 2017 08:48:04 PDT'), '2017-09-20T15:48:04.000Z')
    assert.equal(timeOf('Sep 20 2017 15:48:04 UTC'), '2017-09-20T15:48:04.000Z')
    assert.equal(timeOf('Sep 20 2017 17:48:04 Europe/Berlin'), '2017-09-20T15:48:04.000Z')
    assert.equal(timeOf('Jan 20 2017 16:48:04 Europe/Berlin'), '2017-01-20T15:48:04.000Z')
  })
  test('yearless time takes the nearest year', () => {
    assert.equal(timeOf('Dec 31 23:59:00', Date.UTC(2025, 0, 1, 0, 5)), '2024-12-31T23:59:00.000Z')
    assert.equal(timeOf('Jan 01 00:01:00', Date.UTC(2024, 11, 31, 23, 50)), '2025-01-01T00:01:00.000Z')
    assert.equal(timeOf('Jun 10 12:00:00', Date.UTC(2024, 5, 11)), '2024-06-10T12:00:00.000Z')
  })
  test('formatting matches toISOString', () => {
    const samples = [0, -1, 951_782_400_000, 951_868_799_999, -62_167_219_200_000, 253_402_300_799_999, 1_505_922_484_252]
    for (let index = 0; index < 20_000; index++) samples.push(Math.floor((Math.random() * 2 - 1) * 62_000_000_000_000))
    for (const ms of samples) assert.equal(formatInstant({ ms, micros: 0 }), new Date(ms).toISOString(), String(ms))
    assert.equal(formatInstant({ ms: 253_402_300_800_000, micros: 5 }), '+010000-01-01T00:00:00.000005Z')
  })

  test('unreadable values', () => {
    assert.equal(timeOf('yesterday'), null)
    assert.equal(timeOf('Feb 30 2017 10:00:00'), null)
    assert.equal(timeOf('2017-13-01T00:00:00Z'), null)
    assert.equal(timeOf('Sep 20 2017 15:48:04 Mars/Olympus'), null)
    assert.equal(timeOf(''), null)
  })
})

describe('action reduction', () => {
  test('keeps a valid action', () => {
    assert.equal(reduceToAction('auth.login'), 'auth.login')
  })
  test('reduces free text', () => {
    assert.equal(reduceToAction('Blocked a |'), 'blocked_a')
    assert.equal(reduceToAction('User Login.Failed!'), 'user_login.failed')
    assert.equal(reduceToAction('4625 logon'), 'logon')
    assert.equal(reduceToAction('..Port-Scan..'), 'port_scan')
  })
  test('nothing left', () => {
    assert.equal(reduceToAction('1234 | 5'), undefined)
    assert.equal(reduceToAction(''), undefined)
  })
  test('caps the length', () => {
    const action = reduceToAction('a'.repeat(300))
    assert.equal(action?.length, 256)
  })
})
