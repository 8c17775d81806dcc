import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { trackChild } from './cleanup.js'

/** Path of a compiled worker script under dist/bench/workers. */
export function workerPath(name: string): string {
  return fileURLToPath(new URL(`../workers/${name}.js`, import.meta.url))
}

/** Forks a worker with structured-clone messaging, tracked for clean-up. */
export function forkWorker(name: string, execArgv: string[] = []): ChildProcess {
  const child = fork(workerPath(name), [], { serialization: 'advanced', execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  trackChild(child)
  return child
}

/** Resolves with the first message of `type` from the worker; rejects on an error message or an early exit. */
export function nextMessage<T extends { type: string }>(child: ChildProcess, type: T['type']): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string; message?: string }): void => {
      if (message.type === type) {
        cleanup()
        resolve(message as T)
      } else if (message.type === 'error') {
        cleanup()
        reject(new Error(`worker failed: ${message.message ?? '(no message)'}`))
      }
    }
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup()
      reject(new Error(`worker exited (${code ?? signal}) before sending ${type}`))
    }
    const cleanup = (): void => {
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

/** Waits until the worker has exited. */
export async function workerExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await once(child, 'exit')
}
