// The one clock. Business rules ask it for the time (never SQL now()), so tests can move time.

export interface Clock {
  now(): Date;
}

const systemClock: Clock = { now: () => new Date() };

// The Remix build bundles its own copy of this module beside the one the server, the command-line
// tool and the tests import; keeping the current clock on globalThis makes them share one clock.
const KEY = Symbol.for('custodian.clock');
const holder = globalThis as unknown as { [KEY]?: Clock };

export function now(): Date {
  return (holder[KEY] ?? systemClock).now();
}

/** For tests: freeze or move time. Returns a function that restores the system clock. */
export function setClock(clock: Clock | Date): () => void {
  holder[KEY] = clock instanceof Date ? { now: () => new Date(clock.getTime()) } : clock;
  return () => {
    holder[KEY] = undefined;
  };
}
