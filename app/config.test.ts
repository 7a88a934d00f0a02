import { parseEnv } from './config.server.ts';

describe('configuration', () => {
  it('has working defaults', () => {
    const env = parseEnv({});
    expect(env.HOST).toBe('127.0.0.1');
    expect(env.PORT).toBe(3000);
    expect(env.CUSTODIAN_DATA_DIR).toBe('.data');
    expect(env.CUSTODIAN_SESSION_IDLE_MINUTES).toBe(30);
    expect(env.CUSTODIAN_SESSION_MAX_HOURS).toBe(12);
  });

  it.each([
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ CUSTODIAN_INDEX_KEY: Buffer.alloc(16).toString('base64') }, 'CUSTODIAN_INDEX_KEY'],
    [{ CUSTODIAN_WORKERS: '-1' }, 'CUSTODIAN_WORKERS'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ TLS_CERT_FILE: 'cert.pem' }, 'TLS_KEY_FILE'],
    [{ CUSTODIAN_DEMO_PASSWORD: 'short' }, 'CUSTODIAN_DEMO_PASSWORD'],
    [{ CUSTODIAN_SEQUENCER_DATABASE_URL: 'mysql://x' }, 'CUSTODIAN_SEQUENCER_DATABASE_URL'],
    [{ CUSTODIAN_SEQUENCER_DATABASE_URL: 'postgres://s@h/d' }, 'CUSTODIAN_SEQUENCER_DATABASE_URL'],
  ])('names the variable in error: %o', (source, name) => {
    expect(() => parseEnv(source)).toThrow(new RegExp(`^Invalid environment variable ${name}: `));
  });

  it('treats an empty variable as unset', () => {
    expect(parseEnv({ PORT: '' }).PORT).toBe(3000);
  });
});
