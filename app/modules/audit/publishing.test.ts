import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describePublishing, resolveCheckpointPublishing } from './publishing.server.ts';
import { publishCheckpoint } from './sequencer.server.ts';

describe('where checkpoints are published', () => {
  const dataDir = '/srv/custodian-data';

  it('defaults to <data dir>/checkpoints when Custodian owns the database', () => {
    const p = resolveCheckpointPublishing({ dataDir, embedded: true });
    expect(p).toEqual({ dir: path.join(dataDir, 'checkpoints'), dirIsDefault: true });
    expect(describePublishing(p)).toBe(
      `Audit checkpoints are published to ${dataDir}/checkpoints (the default for the embedded database)`,
    );
  });

  it('follows CUSTODIAN_AUDIT_CHECKPOINT_DIR or _COMMAND instead of the default', () => {
    expect(resolveCheckpointPublishing({ dir: 'cps', dataDir, embedded: true })).toEqual({
      dir: path.resolve('cps'),
      dirIsDefault: false,
    });
    const command = resolveCheckpointPublishing({ command: 'cat', dataDir, embedded: true });
    expect(command).toEqual({ command: 'cat', dirIsDefault: false });
    expect(describePublishing(command)).toBe(
      'Audit checkpoints are published to the command in CUSTODIAN_AUDIT_CHECKPOINT_COMMAND',
    );
  });

  it('publishes nowhere with a database of its own, and says so', () => {
    const p = resolveCheckpointPublishing({ dataDir, embedded: false });
    expect(p).toEqual({ dirIsDefault: false });
    expect(describePublishing(p)).toMatch(/^WARNING: audit checkpoints are published nowhere/);
  });
});

describe('publishing to a folder', () => {
  it('never replaces a published checkpoint with another of the same size', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-publish-'));
    try {
      await publishCheckpoint('first note\n', 7, { dir });
      await publishCheckpoint('first note\n', 7, { dir });
      // A log cut and grown back to size 7 signs another checkpoint of that size.
      await publishCheckpoint('second note\n', 7, { dir });
      const files = fs.readdirSync(dir);
      expect(files).toHaveLength(2);
      const other = files.find((f) => f !== 'checkpoint-000000000007.txt');
      expect(other).toMatch(/^checkpoint-000000000007-[0-9a-f]{16}\.txt$/);
      const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
      expect(read('checkpoint-000000000007.txt')).toBe('first note\n');
      expect(read(other!)).toBe('second note\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
