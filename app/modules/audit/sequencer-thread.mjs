// The audit sequencer's own thread (ADR 014). It loads the TypeScript sequencer through tsx, as
// the command-line tool does; the thread that started it relays its log lines and asks it to
// flush or stop.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { startSequencer } = await import('./sequencer.server.ts');
const sequencer = startSequencer({
  ...workerData,
  log: (line) => parentPort.postMessage({ kind: 'log', line }),
});
parentPort.on('message', (message) => {
  const work = message.kind === 'flush' ? sequencer.flush(message.options) : sequencer.stop();
  work.then(
    () => parentPort.postMessage({ kind: 'done', id: message.id }),
    (error) =>
      parentPort.postMessage({
        kind: 'done',
        id: message.id,
        error: String(error?.message ?? error),
      }),
  );
});
