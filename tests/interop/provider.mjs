// A real, certified OpenID provider (panva's oidc-provider, pinned in package.json) on
// loopback, configured as the interop suite needs it: client-credentials grants for one
// resource server, JWT access tokens (RFC 9068, `at+jwt`) signed RS256, ES256 or EdDSA — one
// client per algorithm — opaque tokens for another client, introspection, revocation and DPoP.
//
//   node provider.mjs PORT RESOURCE
//
// Prints `ready <issuer>` once it listens. Everything here is test configuration: no secret
// below protects anything.

import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, resource] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

function jwk(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: alg.toLowerCase() };
}

const keys = [
  jwk('rsa', { modulusLength: 2048 }, 'RS256'),
  jwk('ec', { namedCurve: 'P-256' }, 'ES256'),
  jwk('ed25519', {}, 'EdDSA'),
];

const client = (id, extra = {}) => ({
  client_id: id,
  client_secret: `${id}-secret-for-tests-only`,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
  ...extra,
});

// The signing algorithm (JWT) or the opaque format each client's access tokens get.
const formats = {
  'interop-rs256': 'RS256',
  'interop-es256': 'ES256',
  'interop-eddsa': 'EdDSA',
  'interop-opaque': 'opaque',
};

const provider = new Provider(issuer, {
  clients: [...Object.keys(formats).map((id) => client(id)), client('api', { grant_types: [] })],
  jwks: { keys },
  enabledJWA: { authorizationSigningAlgValues: ['RS256', 'ES256', 'EdDSA'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    dPoP: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, indicator, requester) {
        const format = formats[requester.clientId] ?? 'RS256';
        const info = {
          scope: 'messages:read messages:write',
          audience: indicator,
          accessTokenTTL: 600,
        };
        if (format === 'opaque') {
          return { ...info, accessTokenFormat: 'opaque' };
        }
        return { ...info, accessTokenFormat: 'jwt', jwt: { sign: { alg: format } } };
      },
    },
  },
});
provider.proxy = false;

const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
