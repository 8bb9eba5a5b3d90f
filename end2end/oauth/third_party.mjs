// A real OAuth 2.0 / OIDC server (the certified `oidc-provider` from npm) on
// loopback, standing in for the third party an OAuth credential provider
// reaches: authorization code with PKCE, refresh tokens, client_credentials.
// Usage: node third_party.mjs <port> <writ callback URL>
// Prints one JSON line {issuer, ...endpoints} when it listens.
import Provider from 'oidc-provider';

const [port, callback] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'writ-user-delegated',
      client_secret: 'third-party-secret-3lo',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [callback],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'writ-machine',
      client_secret: 'third-party-secret-m2m',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'calendar.read',
    },
  ],
  scopes: ['openid', 'offline_access', 'calendar.read'],
  features: {
    clientCredentials: { enabled: true },
    // The test asks the third party itself whether Writ's tokens are real.
    introspection: { enabled: true },
    devInteractions: { enabled: true },
  },
  // PKCE is required of every authorization-code client, confidential too.
  pkce: { required: () => true },
  // Short access tokens, so the test sees Writ refresh one.
  ttl: { AccessToken: 80, ClientCredentials: 600, Session: 600, Interaction: 600, Grant: 600 },
  // Refresh tokens for anyone who consented to offline_access.
  issueRefreshToken: async (ctx, client, code) =>
    client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
});
provider.proxy = false;

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(JSON.stringify({
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
  }));
});
