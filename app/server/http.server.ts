import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { createRequestHandler } from '@remix-run/express';
import type { ServerBuild } from '@remix-run/node';
import compression from 'compression';
import express, { type NextFunction, type Request, type Response } from 'express';
import { sameOriginPath } from '#app/utils/paths.ts';

// The HTTP layer around the Remix build: per-request CSP nonces and security headers, the
// same-origin check on every state-changing request, static files, and HTTP or HTTPS.

export function securityHeaders(nonce: string, secure: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Security-Policy': [
      "default-src 'self'",
      `script-src 'self' 'nonce-${nonce}'`,
      // Stylesheets from this origin only, no <style> element; style attributes stay allowed
      // (recharts, and the one custom property ChartFigure sets): see ADR 005.
      "style-src 'self'",
      "style-src-attr 'unsafe-inline'",
      "img-src 'self' data:",
      "font-src 'self'",
      "connect-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    // Nothing leaves for another site (addresses hold user ids), but the console's own forms keep
    // their Origin: under no-referrer a browser sends `Origin: null` with a form posted before the
    // page's script has loaded (or without script), and the same-origin check refuses it.
    'Referrer-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy':
      'camera=(), microphone=(), geolocation=(), payment=(), usb=(), clipboard-read=(), interest-cohort=()',
  };
  if (secure) headers['Strict-Transport-Security'] = 'max-age=63072000; includeSubDomains';
  return headers;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** CSRF: a state-changing request must come from a page of this very origin. */
export function isSameOrigin(req: Request, secure: boolean): boolean {
  const expected = `${secure ? 'https' : 'http'}://${req.headers.host}`;
  const origin = req.headers.origin;
  if (origin) return origin === expected;
  // Some clients omit Origin on same-origin form posts; fall back to the Referer's origin.
  const referer = req.headers.referer;
  if (referer) {
    try {
      return new URL(referer).origin === expected;
    } catch {
      return false;
    }
  }
  return false;
}

/**
 * Whether a request is for the service API (`/api/v1/…`, ADR 023), which takes only a bearer
 * token and never the session cookie, so the same-origin check does not apply to it. Judged on
 * the path as the router will see it (dot segments resolved, `%2e` included), so that
 * `/api/v1/../admin/staff/new` is not exempt: it is the console's page, cookie and all.
 */
export function isServiceApiPath(originalUrl: string): boolean {
  let resolved: string;
  try {
    resolved = new URL(originalUrl, 'http://custodian.invalid').pathname;
  } catch {
    return false;
  }
  return resolved.startsWith('/api/v1/') && originalUrl.startsWith('/api/v1/');
}

/**
 * The identity provider's back-channel logout (ADR 039) is posted server to server, without an
 * Origin: the route reads no cookie and acts only on a logout token the provider signed, so the
 * same-origin check does not apply to it. Only the exact path as sent is exempt.
 */
export function isProviderCallbackPath(originalUrl: string): boolean {
  return originalUrl === '/auth/oidc/backchannel-logout';
}

/**
 * Whether a request's path (as sent, percent-encoded) is one the console can answer: it decodes,
 * and decoded it is still a path of this origin with no control or space characters. `/%5C`
 * decodes to `/\`, which a browser reads as `//`: the router cannot even build a URL of it.
 */
export function isWellFormedPath(rawPath: string): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return false;
  }
  return sameOriginPath(decoded) !== null;
}

/**
 * Every answer of the console itself is `Cache-Control: no-store` unless its route says otherwise:
 * nearly every page shows personal data, staff data or the audit trail, and no browser, proxy or
 * shared computer may keep a copy (ADR 020). Static files keep their own caching.
 */
export function noStoreByDefault(res: Response) {
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => Response;
  res.writeHead = ((...args: unknown[]) => {
    if (!res.hasHeader('Cache-Control')) res.setHeader('Cache-Control', 'no-store');
    return writeHead(...args);
  }) as typeof res.writeHead;
}

export function createHttpApp(options: { build: ServerBuild; secure: boolean; publicDir: string }) {
  const app = express();
  app.disable('x-powered-by');
  // The fastest zlib level: on a busy console server, level 6 costs about three times the CPU for
  // pages a tenth smaller (measured by `npm run bench -- access`).
  app.use(compression({ level: 1 }));

  app.use((req: Request, res: Response, next: NextFunction) => {
    const nonce = randomBytes(16).toString('base64');
    res.locals.nonce = nonce;
    res.set(securityHeaders(nonce, options.secure));
    const api = isServiceApiPath(req.originalUrl);
    if (
      !api &&
      !SAFE_METHODS.has(req.method) &&
      !isProviderCallbackPath(req.originalUrl) &&
      !isSameOrigin(req, options.secure)
    ) {
      res
        .status(403)
        .type('text/plain')
        .send('Cross-site request refused (Origin does not match).');
      return;
    }
    if (!isWellFormedPath(req.path)) {
      if (api) {
        res
          .status(400)
          .set('Cache-Control', 'no-store')
          .json({ errors: { path: 'This address is malformed' } });
        return;
      }
      res
        .status(400)
        .set('Cache-Control', 'no-store')
        .type('text/plain')
        .send('This address is malformed: it holds a character no page of the console uses.');
      return;
    }
    next();
  });

  app.use(
    '/build',
    express.static(path.join(options.publicDir, 'build'), { immutable: true, maxAge: '1y' }),
  );
  // Other public files all have an extension; pages never do, so they skip the file-system look-up.
  const publicFiles = express.static(options.publicDir, { maxAge: '1h', index: false });
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (path.extname(req.path) === '') next();
    else publicFiles(req, res, next);
  });

  const handleRemix = createRequestHandler({
    build: options.build,
    mode: options.build.mode,
    getLoadContext: (req, res) => ({
      clientAddress: req.socket.remoteAddress ?? '',
      userAgent: req.headers['user-agent'] ?? '',
      secure: options.secure,
      nonce: res.locals.nonce as string,
    }),
  });
  app.all('*', (req, res, next) => {
    noStoreByDefault(res);
    handleRemix(req, res, next).catch(next);
  });
  return app;
}

export async function listen(
  app: express.Express,
  options: { host: string; port: number; tls?: { cert: string; key: string } },
): Promise<http.Server> {
  const server = options.tls
    ? https.createServer(
        { cert: fs.readFileSync(options.tls.cert), key: fs.readFileSync(options.tls.key) },
        app,
      )
    : http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}
