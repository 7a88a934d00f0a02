// Group commit for the statements every request runs (ADR 014). Under load, many requests ask the
// same question at once: whose session is this, is this grant live, queue this view's entry. One
// statement per request costs a round trip each, and on this machine the round trip, not the work,
// is most of the cost. A batcher sends the first call at once. Calls that arrive while a statement
// is running wait for it to finish, then go together as one statement over arrays.
//
// Nothing is cached and nothing is answered early. Each call's answer comes from a statement that
// started after the call was made. When that statement fails, every call in it fails.

export interface BatchOptions {
  /** The most calls one statement answers. */
  maxBatch?: number;
  /** How many statements may run at once (each holds a pooled connection). */
  inFlight?: number;
}

interface Waiting<K, V> {
  key: K;
  resolve: (value: V) => void;
  reject: (reason: unknown) => void;
}

export class BatchError extends Error {}

/**
 * `run` answers a batch of keys with one value per key, in order. Returns the function that asks
 * for one key: its promise settles when the statement that carried the key does.
 *
 * One statement at a time is the default. Measured on the access bench (16 clients), one gave
 * the most throughput: while it runs, the next batch grows; with more at once the batches stay
 * small and each pays its own round trip.
 */
export function batched<K, V>(
  run: (keys: readonly K[]) => Promise<readonly V[]>,
  options: BatchOptions = {},
): (key: K) => Promise<V> {
  const maxBatch = options.maxBatch ?? 64;
  const inFlight = options.inFlight ?? 1;
  let queue: Waiting<K, V>[] = [];
  let running = 0;

  const answer = (batch: Waiting<K, V>[], values: readonly V[]) => {
    if (values.length !== batch.length) {
      const error = new BatchError(`a batch of ${batch.length} got ${values.length} answers`);
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => w.resolve(values[i]!));
  };

  const send = () => {
    while (running < inFlight && queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      running += 1;
      // An async wrapper: a `run` that throws before its first await rejects like any other.
      const values = (async () => run(batch.map((w) => w.key)))();
      values
        .then(
          (v) => answer(batch, v),
          (error: unknown) => {
            for (const w of batch) w.reject(error);
          },
        )
        .finally(() => {
          running -= 1;
          send();
        });
    }
  };

  return (key: K) =>
    new Promise<V>((resolve, reject) => {
      queue.push({ key, resolve, reject });
      send();
    });
}

/**
 * A batch statement's rows (over `unnest(…) with ordinality as k(…, i)`, so `i` counts keys from
 * 1) as one answer per key, in the keys' order: null for a key no row came back for.
 */
export function inKeyOrder<R extends { i: string | number }>(
  keyCount: number,
  rows: readonly R[],
): (R | null)[] {
  const byOrdinal = new Map(rows.map((row) => [Number(row.i), row]));
  return Array.from({ length: keyCount }, (_, index) => byOrdinal.get(index + 1) ?? null);
}
