import { Worker } from 'node:worker_threads';
import type { Sequencer, SequencerOptions } from './sequencer.server.ts';

// The web process's sequencer runs on a thread of its own (ADR 014). Sequencing a batch parses,
// canonicalizes and hashes every entry and sends three multi-row inserts: under load, tens of
// milliseconds of CPU every cycle. On the request thread, each cycle stalled every request in
// flight; on its own thread, requests keep the main thread. What it does is unchanged: the same
// sequencer, its own connections, the same advisory lock.

type FromThread = { kind: 'log'; line: string } | { kind: 'done'; id: number; error?: string };

const RESTART_AFTER_MS = 1_000;

export function startSequencerThread(options: SequencerOptions): Sequencer {
  const { log = () => {}, ...data } = options;
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let stopping = false;
  let worker: Worker;
  let alive = false;

  const spawn = () => {
    alive = true;
    worker = new Worker(new URL('./sequencer-thread.mjs', import.meta.url), { workerData: data });
    worker.on('message', (message: FromThread) => {
      if (message.kind === 'log') {
        log(message.line);
        return;
      }
      const waiting = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) waiting?.reject(new Error(message.error));
      else waiting?.resolve();
    });
    worker.on('error', (error) => log(`audit sequencer thread: ${error.message}`));
    worker.on('exit', (code) => {
      alive = false;
      for (const waiting of pending.values()) {
        waiting.reject(new Error(`the audit sequencer thread exited (${code})`));
      }
      pending.clear();
      if (stopping) return;
      // Entries wait in the intake queue meanwhile: nothing is lost, only sequenced later.
      log(`audit sequencer thread exited (${code}); starting it again`);
      setTimeout(() => {
        if (!stopping) spawn();
      }, RESTART_AFTER_MS).unref();
    });
  };
  spawn();

  // Messages sent before the thread has loaded the sequencer wait in its port until it listens.
  const ask = (kind: 'flush' | 'stop', flushOptions?: { checkpoint?: boolean }) =>
    new Promise<void>((resolve, reject) => {
      if (!alive) {
        reject(new Error('the audit sequencer thread is restarting'));
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ kind, id, options: flushOptions });
    });

  return {
    flush: (flushOptions) => ask('flush', flushOptions),
    async stop() {
      stopping = true;
      try {
        await ask('stop');
      } finally {
        await worker.terminate();
      }
    },
  };
}
