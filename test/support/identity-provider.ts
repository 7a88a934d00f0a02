import { generateKeyPairSync, sign, type JsonWebKey } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type ProviderContext } from 'oidc-provider';

// A real OpenID Connect provider for the single sign-on tests (issue 16, ADR 039): oidc-provider
// on 127.0.0.1 with one registered client, its in-memory adapter, and an interaction handler a
// test drives by HTTP (the person who signs in next, with which `amr`). Each person's groups,
// email and status are the test's to change between sign-ins.

export interface IdpPerson {
  sub: string;
  email: string;
  emailVerified?: boolean;
  groups: string[];
  /** Disabled at the provider: the sign-in there is refused. */
  disabled?: boolean;
}

export interface TestIdentityProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  people: Map<string, IdpPerson>;
  /** Who signs in at the next interaction, and the `amr` the provider records for it. */
  nextLogin: { sub: string; amr: string[] };
  /** The provider's signing key (JWK), to make logout tokens that are right or wrong in one way. */
  signingKey: JsonWebKey & { kid: string };
  /** Has the provider post a back-channel logout for the person (and their provider session). */
  backchannelLogout(sub: string, sid: string): Promise<void>;
  close(): Promise<void>;
}

export async function startIdentityProvider(options: {
  redirectUri: string;
  backchannelLogoutUri: string;
}): Promise<TestIdentityProvider> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'custodian-test';
  const clientSecret = 'a-client-secret-for-the-tests-only-0123456789';
  const people = new Map<string, IdpPerson>();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = {
    ...privateKey.export({ format: 'jwk' }),
    kid: 'test-key',
    use: 'sig',
    alg: 'RS256',
  };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        backchannel_logout_uri: options.backchannelLogoutUri,
        backchannel_logout_session_required: true,
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: ['identity-provider-test-cookie-key'] },
    // Its outgoing requests (the back-channel logout) go to the console on 127.0.0.1, which its
    // SSRF protection refuses: not in a test on loopback.
    fetch: (url: string, init: RequestInit & { dispatcher?: unknown }) => {
      delete init.dispatcher;
      return globalThis.fetch(url, init);
    },
    claims: {
      // `amr` in every ID token (with only `openid` in the ID token's scope, a claim outside it
      // would be dropped).
      openid: ['sub', 'amr'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
    },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    findAccount: (_ctx: unknown, id: string) => {
      const person = people.get(id);
      if (!person) return undefined;
      return {
        accountId: id,
        claims: () => ({
          sub: id,
          email: person.email,
          email_verified: person.emailVerified ?? true,
          name: `Person ${id}`,
          groups: person.groups,
        }),
      };
    },
    // A first-party client: no consent screen, every requested scope granted.
    loadExistingGrant: async (ctx: ProviderContext) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
  });
  const handle = provider.callback();
  const idp: TestIdentityProvider = {
    issuer,
    clientId,
    clientSecret,
    people,
    nextLogin: { sub: '', amr: ['pwd'] },
    signingKey,
    backchannelLogout: async (sub, sid) => {
      const client = await provider.Client.find(clientId);
      await client.backchannelLogout(sub, sid);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  server.on('request', (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      void (async () => {
        await provider.interactionDetails(req, res);
        const { sub, amr } = idp.nextLogin;
        const person = people.get(sub);
        const result =
          !person || person.disabled
            ? { error: 'access_denied', error_description: 'This account is disabled' }
            : { login: { accountId: sub, amr } };
        await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
      })().catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
      return;
    }
    handle(req, res);
  });
  return idp;
}

/** A compact JWS signed with `key` (RS256), for logout tokens the provider would not send. */
export function signJwt(
  claims: Record<string, unknown>,
  key: JsonWebKey & { kid: string },
  header: Record<string, unknown> = {},
): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${part({ alg: 'RS256', typ: 'logout+jwt', kid: key.kid, ...header })}.${part(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key, format: 'jwk' });
  return `${input}.${signature.toString('base64url')}`;
}

/** A browser's cookies for the provider's origin (name → value; paths do not matter here). */
export class CookieJar {
  private cookies = new Map<string, string>();

  take(response: Response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const gone =
        value === '' ||
        attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) ||
        attributes.some((a) => {
          const m = /^\s*expires=(.*)$/i.exec(a);
          return m ? Date.parse(m[1]!) < Date.now() : false;
        });
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header() {
    return [...this.cookies].map(([n, v]) => `${n}=${v}`).join('; ');
  }
}
