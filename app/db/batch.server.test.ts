import fc from 'fast-check';
import { batched, BatchError } from './batch.server.ts';

// The batcher stands between every request and the statements of laws 2 and 3 (the session, the
// live grant, the view's entry). Whatever the order of calls and of statements finishing, each
// call must be answered once, by a statement that started after the call was made, with the
// answer to its own key; a failed statement must fail every call it carried; and no more than
// `inFlight` statements may run at once, each with at most `maxBatch` keys.

interface Statement {
  id: number;
  keys: readonly number[];
  /** How many calls had been made when the statement started. */
  callsBefore: number;
  finish: (fail: boolean) => void;
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

const Action = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'call' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('finish' as const),
      pick: fc.nat(),
      fail: fc.boolean(),
    }),
  },
);

test('every call is answered once, by a statement that started after it, for its own key', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(Action, { maxLength: 80 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 5 }),
      async (actions, inFlight, maxBatch) => {
        const running: Statement[] = [];
        const started: Statement[] = [];
        let calls = 0;
        let mostAtOnce = 0;
        const ask = batched<number, string>(
          (keys) =>
            new Promise((resolve, reject) => {
              const statement: Statement = {
                id: started.length,
                keys,
                callsBefore: calls,
                finish: (fail) => {
                  running.splice(running.indexOf(statement), 1);
                  if (fail) reject(new Error(`statement ${statement.id} failed`));
                  else resolve(keys.map((k) => `${k}@${statement.id}`));
                },
              };
              started.push(statement);
              running.push(statement);
              mostAtOnce = Math.max(mostAtOnce, running.length);
            }),
          { inFlight, maxBatch },
        );
        const outcomes: { settled: number; value?: string; error?: string }[] = [];
        const call = () => {
          const key = calls;
          calls += 1;
          const outcome: (typeof outcomes)[number] = { settled: 0 };
          outcomes.push(outcome);
          ask(key).then(
            (value) => {
              outcome.settled += 1;
              outcome.value = value;
            },
            (error: Error) => {
              outcome.settled += 1;
              outcome.error = error.message;
            },
          );
        };
        const failed = new Set<number>();
        const finish = (statement: Statement, fail: boolean) => {
          if (fail) failed.add(statement.id);
          statement.finish(fail);
        };
        for (const action of actions) {
          if (action.kind === 'call') call();
          else if (running.length > 0) finish(running[action.pick % running.length]!, action.fail);
          await flush();
        }
        while (running.length > 0) {
          finish(running[0]!, false);
          await flush();
        }

        expect(mostAtOnce).toBeLessThanOrEqual(inFlight);
        const carriedBy = new Map<number, Statement>();
        for (const statement of started) {
          expect(statement.keys.length).toBeGreaterThan(0);
          expect(statement.keys.length).toBeLessThanOrEqual(maxBatch);
          for (const key of statement.keys) {
            expect(carriedBy.has(key)).toBe(false);
            // Made before the statement started: no answer from before the question.
            expect(key).toBeLessThan(statement.callsBefore);
            carriedBy.set(key, statement);
          }
        }
        outcomes.forEach((outcome, key) => {
          expect(outcome.settled).toBe(1);
          const statement = carriedBy.get(key)!;
          if (failed.has(statement.id)) {
            expect(outcome.error).toBe(`statement ${statement.id} failed`);
          } else {
            expect(outcome.value).toBe(`${key}@${statement.id}`);
          }
        });
      },
    ),
    { numRuns: 300 },
  );
});

test('calls are answered in the order they were made, without waiting for a window', async () => {
  const sizes: number[] = [];
  const ask = batched<number, number>(async (keys) => {
    sizes.push(keys.length);
    await flush();
    return keys.map((k) => k * 2);
  });
  // The first call goes at once, alone; the ones made while it runs go together next.
  const answers = await Promise.all([1, 2, 3, 4].map((k) => ask(k)));
  expect(answers).toEqual([2, 4, 6, 8]);
  expect(sizes).toEqual([1, 3]);
});

test('a statement that answers the wrong number of keys fails every call in it', async () => {
  const ask = batched<number, number>(async (keys) => keys.slice(1));
  const results = await Promise.allSettled([ask(1), ask(2), ask(3)]);
  for (const r of results) {
    expect(r.status).toBe('rejected');
    expect((r as PromiseRejectedResult).reason).toBeInstanceOf(BatchError);
  }
});

test('a statement that throws before its first await fails its calls, and the next one runs', async () => {
  let first = true;
  const ask = batched<number, number>((keys) => {
    if (first) {
      first = false;
      throw new Error('no connection');
    }
    return Promise.resolve(keys.map((k) => k + 1));
  });
  await expect(ask(1)).rejects.toThrow('no connection');
  await expect(ask(2)).resolves.toBe(3);
});
