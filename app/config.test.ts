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

describe('single sign-on configuration (ADR 039)', () => {
  const base = {
    CUSTODIAN_OIDC_ISSUER: 'https://login.example.com',
    CUSTODIAN_OIDC_CLIENT_ID: 'custodian',
    CUSTODIAN_OIDC_CLIENT_SECRET: 'secret',
    CUSTODIAN_OIDC_ROLE_MAP:
      '{"custodian-agents":["support_agent"],"custodian-leads":"support_lead"}',
  };

  it('reads the role map as JSON or as group=role pairs', () => {
    const json = parseEnv(base).CUSTODIAN_OIDC_ROLE_MAP!;
    expect([...json]).toEqual([
      ['custodian-agents', ['support_agent']],
      ['custodian-leads', ['support_lead']],
    ]);
    const pairs = parseEnv({
      ...base,
      CUSTODIAN_OIDC_ROLE_MAP: 'custodian-agents=support_agent, custodian-leads=support_lead+admin',
    }).CUSTODIAN_OIDC_ROLE_MAP!;
    expect(pairs.get('custodian-leads')).toEqual(['support_lead', 'admin']);
    expect(parseEnv(base).CUSTODIAN_OIDC_GROUPS_CLAIM).toBe('groups');
  });

  it.each([
    [{ ...base, CUSTODIAN_OIDC_ISSUER: 'http://login.example.com' }, 'CUSTODIAN_OIDC_ISSUER'],
    [{ ...base, CUSTODIAN_OIDC_ISSUER: 'not a url' }, 'CUSTODIAN_OIDC_ISSUER'],
    [{ ...base, CUSTODIAN_OIDC_ROLE_MAP: '{"g":["wizard"]}' }, 'CUSTODIAN_OIDC_ROLE_MAP'],
    [{ ...base, CUSTODIAN_OIDC_ROLE_MAP: '{"g":' }, 'CUSTODIAN_OIDC_ROLE_MAP'],
    [{ ...base, CUSTODIAN_OIDC_ROLE_MAP: 'g' }, 'CUSTODIAN_OIDC_ROLE_MAP'],
    [{ ...base, CUSTODIAN_OIDC_ROLE_MAP: '{}' }, 'CUSTODIAN_OIDC_ROLE_MAP'],
    [{ ...base, CUSTODIAN_OIDC_CLIENT_SECRET: undefined }, 'CUSTODIAN_OIDC_CLIENT_SECRET'],
    [{ CUSTODIAN_OIDC_ISSUER: 'https://login.example.com' }, 'CUSTODIAN_OIDC_CLIENT_ID'],
    [
      { ...base, CUSTODIAN_OIDC_REDIRECT_URI: 'https://x.example/cb' },
      'CUSTODIAN_OIDC_REDIRECT_URI',
    ],
    [{ ...base, CUSTODIAN_OIDC_SCOPE: 'email' }, 'CUSTODIAN_OIDC_SCOPE'],
  ])('names the variable in error: %o', (source, name) => {
    expect(() => parseEnv(source)).toThrow(new RegExp(`^Invalid environment variable ${name}: `));
  });

  it('allows http only for a provider on this machine', () => {
    expect(
      parseEnv({ ...base, CUSTODIAN_OIDC_ISSUER: 'http://127.0.0.1:4444' }).CUSTODIAN_OIDC_ISSUER,
    ).toBe('http://127.0.0.1:4444');
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
