import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { parse } from 'yaml'
import { AGGREGATE_SOURCES, AGGREGATION_TYPES } from '../../src/query/aggregate-request.js'
import { FILTER_OPS } from '../../src/query/filters.js'
import { startTestApp, type TestApp } from '../support/app.js'

const SPEC_PATH = new URL('../../../api/openapi.yaml', import.meta.url)
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

interface Spec {
  openapi: string
  paths: Record<string, Partial<Record<(typeof METHODS)[number], { responses?: Record<string, unknown> }>>>
  components: { schemas: Record<string, { properties?: Record<string, { enum?: string[] }> }> }
}

const routes = new Set<string>()
let testApp: TestApp

/**
 * Fastify publishes every new instance on this channel before any route is
 * added, so an onRoute hook installed here receives every route the server has.
 */
function collectRoutes(message: unknown): void {
  const app = (message as { fastify: FastifyInstance }).fastify
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const method of methods) {
      // HEAD routes are the ones fastify adds for every GET.
      if (method === 'HEAD') continue
      routes.add(`${method} ${route.url.replace(/:([A-Za-z_]+)/g, '{$1}')}`)
    }
  })
}

before(async () => {
  subscribe('fastify.initialization', collectRoutes)
  try {
    testApp = await startTestApp()
  } finally {
    unsubscribe('fastify.initialization', collectRoutes)
  }
})

after(async () => {
  await testApp.close()
})

function loadSpec(): Spec {
  return parse(readFileSync(SPEC_PATH, 'utf8')) as Spec
}

function specRoutes(spec: Spec): Set<string> {
  const found = new Set<string>()
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) if (item[method] !== undefined) found.add(`${method.toUpperCase()} ${path}`)
  }
  return found
}

describe('api/openapi.yaml', () => {
  test('documents exactly the routes the server has', () => {
    const documented = specRoutes(loadSpec())
    assert.ok(routes.size > 0, 'no routes were collected')
    assert.deepEqual([...routes].filter((route) => !documented.has(route)).sort(), [], 'routes missing from the spec')
    assert.deepEqual([...documented].filter((route) => !routes.has(route)).sort(), [], 'spec paths the server lacks')
  })

  test('every operation lists its responses', () => {
    const spec = loadSpec()
    assert.match(spec.openapi, /^3\.1\./)
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const method of METHODS) {
        const operation = item[method]
        if (operation === undefined) continue
        assert.ok(Object.keys(operation.responses ?? {}).length > 0, `${method} ${path} has no responses`)
      }
    }
  })

  test('enumerations match the code', () => {
    const schemas = loadSpec().components.schemas
    assert.deepEqual(schemas['Filter']?.properties?.['op']?.enum, [...FILTER_OPS])
    assert.deepEqual(schemas['Aggregation']?.properties?.['type']?.enum, [...AGGREGATION_TYPES])
    assert.deepEqual(schemas['AggregateRequest']?.properties?.['source']?.enum, [...AGGREGATE_SOURCES])
  })

  test('documented routes answer', async () => {
    for (const route of specRoutes(loadSpec())) {
      const [method, path] = route.split(' ') as [string, string]
      const url = testApp.url + path.replace('{id}', '00000000-0000-4000-8000-000000000000')
      const response = await fetch(url, { method, ...(method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}) })
      const body = await response.text()
      assert.ok(!body.includes('"no route '), `${route} is not routed`)
    }
  })
})
