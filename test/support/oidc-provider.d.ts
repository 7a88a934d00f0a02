// oidc-provider ships no types; the test identity provider (identity-provider.ts) uses a little.
declare module 'oidc-provider' {
  const Provider: new (issuer: string, configuration: Record<string, unknown>) => any;
  export default Provider;
}
