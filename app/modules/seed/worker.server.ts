import { parentPort } from 'node:worker_threads';
import { generateBlock, type GenerateParams } from './generate.server.ts';

// Generates blocks on request and hands their buffers back without copying them.

export type WorkerRequest =
  { type: 'init'; params: GenerateParams } | { type: 'block'; index: number };

const port = parentPort;
let params: GenerateParams | undefined;

port?.on('message', (request: WorkerRequest) => {
  if (request.type === 'init') {
    // Structured cloning turns the Buffer into a plain Uint8Array.
    const key = request.params.master.key as Uint8Array;
    params = {
      ...request.params,
      master: {
        id: request.params.master.id,
        key: Buffer.from(key.buffer, key.byteOffset, key.byteLength),
      },
    };
    return;
  }
  if (!params) throw new Error('seed worker: block requested before init');
  const output = generateBlock(params, request.index);
  const transfer = [
    output.users.keys.buffer,
    output.users.heads.buffer,
    output.users.headEnds.buffer,
    ...Object.values(output.chunks).map((c) => c.buffer),
  ];
  port.postMessage(output, transfer as ArrayBuffer[]);
});
