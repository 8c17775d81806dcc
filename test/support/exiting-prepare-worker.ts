/**
 * A preparation worker that reports ready and exits on the first body
 * without a reply, standing in for a worker that crashes.
 */
import { parentPort } from 'node:worker_threads'

parentPort?.on('message', () => process.exit(3))
parentPort?.postMessage({ ready: true })
