// The one clock. Business rules ask it for the time (never SQL now()), so tests can move time.

export interface Clock {
  now(): Date;
}

const systemClock: Clock = { now: () => new Date() };
let current: Clock = systemClock;

export function now(): Date {
  return current.now();
}

/** For tests: freeze or move time. Returns a function that restores the system clock. */
export function setClock(clock: Clock | Date): () => void {
  current = clock instanceof Date ? { now: () => new Date(clock.getTime()) } : clock;
  return () => {
    current = systemClock;
  };
}
