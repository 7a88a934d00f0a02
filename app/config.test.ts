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

describe('passkeys and password sign-in (ADR 038)', () => {
  it('defaults: relying party localhost, origin http://localhost:PORT, password sign-in on', () => {
    const env = parseEnv({ PORT: '3100' });
    expect(env.CUSTODIAN_WEBAUTHN_RP_ID).toBe('localhost');
    expect(env.CUSTODIAN_PASSWORD_SIGN_IN).toBe('on');
  });
  it('refuses an IP address as the relying party, and an origin on another host', () => {
    expect(() => parseEnv({ CUSTODIAN_WEBAUTHN_RP_ID: '127.0.0.1' })).toThrow(
      /CUSTODIAN_WEBAUTHN_RP_ID: .*IP address/,
    );
    expect(() =>
      parseEnv({
        CUSTODIAN_WEBAUTHN_RP_ID: 'custodian.example.com',
        CUSTODIAN_WEBAUTHN_ORIGIN: 'https://evil.example',
      }),
    ).toThrow(/CUSTODIAN_WEBAUTHN_ORIGIN/);
    expect(
      parseEnv({
        CUSTODIAN_WEBAUTHN_RP_ID: 'example.com',
        CUSTODIAN_WEBAUTHN_ORIGIN: 'https://custodian.example.com',
      }).CUSTODIAN_WEBAUTHN_ORIGIN,
    ).toBe('https://custodian.example.com');
  });
  it('CUSTODIAN_PASSWORD_SIGN_IN takes on or off only', () => {
    expect(parseEnv({ CUSTODIAN_PASSWORD_SIGN_IN: 'off' }).CUSTODIAN_PASSWORD_SIGN_IN).toBe('off');
    expect(() => parseEnv({ CUSTODIAN_PASSWORD_SIGN_IN: 'no' })).toThrow(
      'Invalid environment variable CUSTODIAN_PASSWORD_SIGN_IN: must be on or off',
    );
  });
});
