import '@remix-run/node';

// What the HTTP server hands every loader and action (see app/server/http.server.ts).
declare module '@remix-run/node' {
  interface AppLoadContext {
    clientAddress: string;
    userAgent: string;
    secure: boolean;
    nonce: string;
  }
}
export {};
