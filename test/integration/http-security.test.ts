import { lastSeq } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  postForm,
  sessionCookieOf,
  signInAs,
  startTestServer,
  type TestServer,
  type TestStaff,
} from '../support/http.ts';
import { closeDb } from '#app/db/client.server.ts';

const { sql } = useTestDatabase();

let server: TestServer;
let admin: TestStaff;
let agent: TestStaff;
let adminCookie: string;
let agentCookie: string;

beforeAll(async () => {
  server = await startTestServer();
  [admin, agent] = await Promise.all([
    createStaffWithRoles(['admin']),
    createStaffWithRoles(['support_agent']),
  ]);
  [adminCookie, agentCookie] = await Promise.all([
    signInAs(server.baseUrl, admin.email, admin.password),
    signInAs(server.baseUrl, agent.email, agent.password),
  ]);
});

afterAll(async () => {
  await server?.close();
});

/** What gives a stack trace or server internals away in a page. */
function leaks(body: string): string[] {
  const patterns: [string, RegExp][] = [
    ['a stack frame', /\bat (?:async )?[\w$.<>[\] ]*\(?(?:file:|node:|\/)[^)\s]*:\d+:\d+/],
    ['a server path', /\/work\/|node_modules|build\/index\.js|app\/routes\//],
    [
      'an error class',
      /\b(?:TypeError|ReferenceError|RangeError|DrizzleQueryError|PostgresError)\b/,
    ],
    ['a connection error', /ECONNREFUSED|connect ECONN/],
  ];
  return patterns.filter(([, pattern]) => pattern.test(body)).map(([name]) => name);
}

function cspOf(response: Response) {
  const header = response.headers.get('content-security-policy') ?? '';
  const directives = new Map<string, string[]>();
  for (const part of header.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name, values);
  }
  return directives;
}

describe('security headers', () => {
  const pages: [string, string | null, string, number][] = [
    ['the sign-in page', null, '/login', 200],
    ['the home page', 'admin', '/', 200],
    ['the staff list', 'admin', '/admin/staff', 200],
    ['the 404 page', 'agent', '/no/such/page', 404],
    ['the 403 page', 'agent', '/admin/staff', 403],
    ['a 400 page', 'admin', '/admin/staff?sort=password_hash', 400],
  ];

  it.each(pages)(
    '%s carries a CSP with a fresh nonce on every script',
    async (_, who, path, status) => {
      const cookie = who === 'admin' ? adminCookie : who === 'agent' ? agentCookie : null;
      const nonces: string[] = [];
      for (let i = 0; i < 2; i++) {
        const response = await fetchAs(cookie, path);
        expect(response.status).toBe(status);
        expect(response.headers.get('content-type')).toMatch(/^text\/html/);
        const csp = cspOf(response);
        const scriptSrc = csp.get('script-src') ?? [];
        expect(scriptSrc).not.toContain("'unsafe-inline'");
        expect(scriptSrc).not.toContain("'unsafe-eval'");
        expect(scriptSrc).not.toContain('*');
        const nonceSources = scriptSrc.filter((s) => s.startsWith("'nonce-"));
        expect(nonceSources).toHaveLength(1);
        const nonce = /^'nonce-([A-Za-z0-9+/=]+)'$/.exec(nonceSources[0]!)![1]!;
        expect(Buffer.from(nonce, 'base64').length).toBeGreaterThanOrEqual(16);
        nonces.push(nonce);
        expect(csp.get('default-src')).toEqual(["'self'"]);
        expect(csp.get('style-src')).toEqual(["'self'"]);
        expect(csp.get('style-src-attr')).toEqual(["'unsafe-inline'"]);
        expect(csp.get('object-src')).toEqual(["'none'"]);
        expect(csp.get('frame-ancestors')).toEqual(["'none'"]);

        const html = await response.text();
        const scripts = html.match(/<script\b[^>]*>/g) ?? [];
        expect(scripts.length).toBeGreaterThan(0);
        for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
      }
      expect(nonces[0]).not.toBe(nonces[1]);
    },
  );

  it('every response carries nosniff, same-origin referrers, a Permissions-Policy and no HSTS over HTTP', async () => {
    for (const path of ['/login', '/healthz', '/no/such/page']) {
      const response = await fetchAs(null, path);
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('referrer-policy'), path).toBe('same-origin');
      expect(response.headers.get('permissions-policy'), path).toMatch(/camera=\(\)/);
      expect(response.headers.get('permissions-policy'), path).toMatch(/geolocation=\(\)/);
      expect(cspOf(response).get('frame-ancestors'), path).toEqual(["'none'"]);
      expect(response.headers.get('strict-transport-security'), path).toBeNull();
      expect(response.headers.get('x-powered-by'), path).toBeNull();
    }
  });

  it('HSTS is sent when the app runs behind TLS (secure: true)', async () => {
    const secure = await startTestServer({ secure: true });
    try {
      const response = await fetch(`${secure.baseUrl}/login`);
      const hsts = response.headers.get('strict-transport-security') ?? '';
      expect(Number(/max-age=(\d+)/.exec(hsts)?.[1])).toBeGreaterThanOrEqual(31_536_000);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    } finally {
      await secure.close();
    }
  });
});

describe('cross-site request forgery', () => {
  async function snapshot() {
    const [counts] = await sql()<{ sessions: number; throttles: number }[]>`
      select (select count(*)::int from console.sessions) as sessions,
             (select count(*)::int from console.sign_in_throttle) as throttles`;
    return { ...counts!, events: await lastSeq() };
  }

  it.each([
    ['a foreign Origin', { origin: 'https://evil.example' }],
    ['a look-alike Origin', { origin: `${'http://127.0.0.1'}.evil.example` }],
    ['Origin: null', { origin: 'null' }],
    ['no Origin and no Referer', { origin: null }],
    [
      'no Origin and a foreign Referer',
      { origin: null, headers: { referer: 'https://evil.example/x' } },
    ],
  ] as const)('a POST to /login with %s is refused and changes nothing', async (_, opts) => {
    const before = await snapshot();
    const response = await postForm(
      null,
      '/login',
      { email: agent.email, password: agent.password },
      { origin: opts.origin, headers: 'headers' in opts ? { ...opts.headers } : {} },
    );
    expect(response.status).toBe(403);
    expect(sessionCookieOf(response)).toBeUndefined();
    expect(await snapshot()).toEqual(before);
  });

  it('a cross-site POST to /logout is refused and the session lives on', async () => {
    const cookie = await signInAs(server.baseUrl, agent.email, agent.password);
    const before = await snapshot();
    for (const origin of ['https://evil.example', null]) {
      const response = await postForm(cookie, '/logout', {}, { origin });
      expect(response.status).toBe(403);
      expect(response.headers.getSetCookie()).toEqual([]);
    }
    expect(await snapshot()).toEqual(before);
    expect((await fetchAs(cookie, '/')).status).toBe(200);
  });

  it('a same-origin POST goes through, by Origin or, lacking it, by Referer', async () => {
    const byOrigin = await postForm(null, '/login', {
      email: agent.email,
      password: agent.password,
    });
    expect(byOrigin.status).toBe(302);
    expect(sessionCookieOf(byOrigin)).toBeDefined();
    const byReferer = await postForm(
      null,
      '/login',
      { email: agent.email, password: agent.password },
      { origin: null, headers: { referer: `${server.baseUrl}/login?redirectTo=%2F` } },
    );
    expect(byReferer.status).toBe(302);
    const cookie = sessionCookieOf(byReferer)!;
    const out = await postForm(cookie, '/logout');
    expect(out.status).toBe(302);
    expect(out.headers.get('location')).toBe('/login');
  });
});

describe('health and errors', () => {
  it('/healthz answers 200 with the database reachable', async () => {
    const response = await fetchAs(null, '/healthz');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ status: 'ok', database: 'reachable' });
  });

  describe('with the database unreachable', () => {
    const realUrl = () => process.env.DATABASE_URL!;
    let saved: string;
    let serverLog: ReturnType<typeof vi.spyOn>;
    beforeAll(async () => {
      // The server logs the errors (to its own console, not the browser); keep the output clean.
      serverLog = vi.spyOn(console, 'error').mockImplementation(() => {});
      saved = realUrl();
      process.env.DATABASE_URL = 'postgres://custodian:nothing@127.0.0.1:1/custodian';
      await closeDb();
    });
    afterAll(async () => {
      serverLog.mockRestore();
      process.env.DATABASE_URL = saved;
      await closeDb();
    });

    it('/healthz answers 503', async () => {
      const response = await fetchAs(null, '/healthz');
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: 'unavailable', database: 'unreachable' });
    });

    it('an error inside a loader shows the error page, never a stack trace', async () => {
      // The session lookup in the root loader now fails.
      const response = await fetchAs(adminCookie, '/admin/staff');
      expect(response.status).toBe(500);
      const html = await response.text();
      expect(html).toContain('Something went wrong');
      expect(leaks(html)).toEqual([]);
      expect(serverLog).toHaveBeenCalled();
    });

    it('an error inside a loader fetched as data carries no stack trace either', async () => {
      const response = await fetchAs(adminCookie, '/admin/staff?_data=routes%2Fadmin.staff._index');
      expect(response.status).toBe(500);
      const body = await response.text();
      expect(body).not.toContain('stack');
      expect(leaks(body)).toEqual([]);
    });

    it('an error inside an action shows no stack trace', async () => {
      const response = await postForm(null, '/login', {
        email: agent.email,
        password: agent.password,
      });
      expect(response.status).toBe(500);
      expect(sessionCookieOf(response)).toBeUndefined();
      expect(leaks(await response.text())).toEqual([]);
    });
  });

  it('with the database back, /healthz and sessions recover', async () => {
    expect((await fetchAs(null, '/healthz')).status).toBe(200);
    expect((await fetchAs(adminCookie, '/admin/staff')).status).toBe(200);
  });

  it('an unknown address is a 404 page without a stack trace', async () => {
    for (const cookie of [null, agentCookie]) {
      const response = await fetchAs(cookie, '/no/such/page?x=<script>');
      expect(response.status).toBe(404);
      const html = await response.text();
      expect(html).toContain('404 — Not found');
      expect(html).not.toContain('<script>');
      expect(leaks(html)).toEqual([]);
    }
  });

  it('public files are served with a cache lifetime, and a missing one is the app’s 404 page', async () => {
    const icon = await fetchAs(null, '/favicon.ico');
    expect(icon.status).toBe(200);
    expect(icon.headers.get('cache-control')).toBe('public, max-age=3600');
    const missing = await fetchAs(null, '/no-such-file.png');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('404 — Not found');
  });

  it('pages are compressed for clients that accept gzip', async () => {
    const response = await fetchAs(null, '/login', { headers: { 'accept-encoding': 'gzip' } });
    expect(response.headers.get('content-encoding')).toBe('gzip');
  });

  it('the leak check itself spots a stack trace', () => {
    const error = new TypeError('boom');
    expect(leaks(String(error.stack))).not.toEqual([]);
    expect(leaks('at handler (/srv/app/build/index.js:10:5)')).not.toEqual([]);
  });
});
