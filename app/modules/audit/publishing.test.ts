import path from 'node:path';
import { describePublishing, resolveCheckpointPublishing } from './publishing.server.ts';

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
