import { hash, verify, type Options } from '@node-rs/argon2';

// argon2id with OWASP's second recommended setting (m=19 MiB, t=2, p=1).
const OPTIONS: Options = {
  algorithm: 2, // Algorithm.Argon2id (a const enum, unusable with isolatedModules)
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;
/** Spends the time of one verification when there is no account, so timing reveals nothing. */
export async function verifyAgainstNothing(password: string): Promise<false> {
  dummy ??= hashPassword('custodian-dummy-password-for-timing');
  await verifyPassword(await dummy, password);
  return false;
}

export function passwordProblem(password: string): string | undefined {
  if (password.length < 12) return 'Password must be at least 12 characters';
  if (password.length > 256) return 'Password must be at most 256 characters';
  return undefined;
}
