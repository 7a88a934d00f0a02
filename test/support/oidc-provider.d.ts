// oidc-provider ships no types; the test identity provider (identity-provider.ts) uses a little.
declare module 'oidc-provider' {
  interface GrantLike {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  }
  export interface ProviderContext {
    oidc: {
      provider: { Grant: new (init: { clientId: string; accountId: string }) => GrantLike };
      client: { clientId: string };
      session: { accountId: string };
    };
  }
  export interface ProviderInstance {
    callback(): (
      req: import('node:http').IncomingMessage,
      res: import('node:http').ServerResponse,
    ) => void;
    interactionDetails(req: unknown, res: unknown): Promise<unknown>;
    interactionFinished(
      req: unknown,
      res: unknown,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    Client: {
      find(id: string): Promise<{ backchannelLogout(sub: string, sid: string): Promise<void> }>;
    };
  }
  const Provider: new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;
  export default Provider;
}
