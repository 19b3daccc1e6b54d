// The interop run: each example (axum, actix-web, warp), with and without the RFC 9068
// profile, against tokens from a real, certified OpenID provider (oidc-provider) on loopback.
// Prints one table and exits non-zero on any row that differs from what it expects.
//
//   node run.mjs TARGET_DIR      (bash tests/interop/run.sh builds the examples first)
//
// Every address is on 127.0.0.1; every wait is bounded.

import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

const targetDir = process.argv[2];
if (!targetDir) {
  console.error('usage: node run.mjs TARGET_DIR');
  process.exit(2);
}
const here = fileURLToPath(new URL('.', import.meta.url));
const RESOURCE = 'https://api.interop.test/';
const ORIGIN = 'https://api.interop.test';
const children = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function start(command, args, env, label) {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  child.output = () => output;
  child.label = label;
  children.push(child);
  return child;
}

function stopAll() {
  for (const child of children) {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
}
process.on('exit', stopAll);

async function waitFor(url, label, child) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`${label} exited (${child.exitCode}):\n${child.output()}`);
    }
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch { /* not listening yet */ }
    await sleep(100);
  }
  throw new Error(`${label} did not answer ${url} within 60 s:\n${child.output()}`);
}

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

// ---------------------------------------------------------------- the provider

const providerPort = await freePort();
const issuer = `http://127.0.0.1:${providerPort}`;
const provider = start('node', [`${here}/provider.mjs`, String(providerPort), RESOURCE], {}, 'provider');
await waitFor(`${issuer}/.well-known/openid-configuration`, 'the provider', provider);

const secret = (client) => `${client}-secret-for-tests-only`;

async function token(client, { scope = 'messages:read', resource = RESOURCE, dpop } = {}) {
  const headers = {
    authorization: `Basic ${Buffer.from(`${client}:${secret(client)}`).toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
  };
  if (dpop) headers.dpop = await proof(dpop, 'POST', `${issuer}/token`);
  const body = new URLSearchParams({ grant_type: 'client_credentials', scope, resource });
  const response = await fetch(`${issuer}/token`, { method: 'POST', headers, body });
  const json = await response.json();
  if (!response.ok) throw new Error(`token for ${client}: ${JSON.stringify(json)}`);
  return json.access_token;
}

async function revoke(client, accessToken) {
  const response = await fetch(`${issuer}/token/revocation`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client}:${secret(client)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token: accessToken }),
  });
  if (!response.ok) throw new Error(`revocation: ${response.status}`);
}

async function dpopKey() {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, jwk: await exportJWK(publicKey) };
}

async function proof(key, htm, htu, accessToken) {
  const claims = { htm, htu, jti: randomUUID(), iat: Math.floor(Date.now() / 1000) };
  if (accessToken) claims.ath = b64url(createHash('sha256').update(accessToken).digest());
  return new SignJWT(claims)
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk })
    .sign(key.privateKey);
}

// ---------------------------------------------------------------- the examples

const examples = ['axum-api', 'actix-api', 'warp-api'];
const profiles = [
  { name: 'plain', env: {} },
  { name: 'rfc9068', env: { TOKENGATE_RFC9068: '1' } },
];
const servers = [];
for (const example of examples) {
  for (const profile of profiles) {
    const port = await freePort();
    const child = start(`${targetDir}/${example}`, [], {
      TOKENGATE_ISSUER: issuer,
      TOKENGATE_AUDIENCE: RESOURCE,
      TOKENGATE_ADDR: `127.0.0.1:${port}`,
      TOKENGATE_INTROSPECTION_URL: `${issuer}/token/introspection`,
      TOKENGATE_INTROSPECTION_CLIENT_ID: 'api',
      TOKENGATE_INTROSPECTION_CLIENT_SECRET: secret('api'),
      RUST_LOG: 'warn',
      ...profile.env,
    }, `${example} (${profile.name})`);
    servers.push({ label: `${example.replace('-api', '')}/${profile.name}`, url: `http://127.0.0.1:${port}`, child });
  }
}
for (const server of servers) await waitFor(`${server.url}/health`, server.label, server.child);

async function call(server, path, accessToken, { scheme = 'Bearer', dpop } = {}) {
  const headers = {};
  if (accessToken) headers.authorization = `${scheme} ${accessToken}`;
  if (dpop) headers.dpop = await proof(dpop, 'GET', `${ORIGIN}${path}`, accessToken);
  const response = await fetch(`${server.url}${path}`, { headers });
  await response.arrayBuffer();
  return response.status;
}

// ---------------------------------------------------------------- the rows

const rows = [];
async function row(name, expected, send) {
  const got = [];
  for (const server of servers) got.push(await send(server));
  rows.push({ name, expected, got });
}

for (const [client, alg] of [['interop-rs256', 'RS256'], ['interop-es256', 'ES256'], ['interop-eddsa', 'EdDSA']]) {
  const read = await token(client);
  await row(`JWT ${alg}, scope granted: GET /messages`, 200, (s) => call(s, '/messages', read));
  await row(`JWT ${alg}: GET /me`, 200, (s) => call(s, '/me', read));
}
const writeOnly = await token('interop-es256', { scope: 'messages:write' });
await row('JWT, scope missing: GET /messages', 403, (s) => call(s, '/messages', writeOnly));
const other = await token('interop-es256', { resource: 'https://other.interop.test/' });
await row("JWT for another resource: GET /me", 401, (s) => call(s, '/me', other));
await row('no token: GET /me', 401, (s) => call(s, '/me'));
const opaque = await token('interop-opaque');
await row('opaque, introspected (no sub, no jti): GET /messages', 200, (s) => call(s, '/messages', opaque));
const opaqueWrite = await token('interop-opaque', { scope: 'messages:write' });
await row('opaque, scope missing: GET /messages', 403, (s) => call(s, '/messages', opaqueWrite));
const revoked = await token('interop-opaque');
await revoke('interop-opaque', revoked);
await row('opaque, revoked at the provider: GET /me', 401, (s) => call(s, '/me', revoked));
const key = await dpopKey();
const bound = await token('interop-es256', { dpop: key });
await row('DPoP-bound JWT with its proof: GET /me', 200, (s) => call(s, '/me', bound, { scheme: 'DPoP', dpop: key }));
await row('DPoP-bound JWT as Bearer: GET /me', 401, (s) => call(s, '/me', bound));
const thief = await dpopKey();
await row("DPoP-bound JWT, another key's proof: GET /me", 401, (s) => call(s, '/me', bound, { scheme: 'DPoP', dpop: thief }));
const boundOpaque = await token('interop-opaque', { dpop: key });
await row('DPoP-bound opaque token with its proof: GET /me', 200, (s) => call(s, '/me', boundOpaque, { scheme: 'DPoP', dpop: key }));

// The provider goes down: signed tokens still verify with the keys already loaded; an opaque
// token nobody has seen cannot be introspected: 503, never admitted.
const unseen = await token('interop-opaque');
const stillSigned = await token('interop-rs256');
provider.kill('SIGTERM');
await new Promise((resolve) => (provider.exitCode !== null ? resolve() : provider.once('exit', resolve)));
await row('provider down: JWT with loaded keys', 200, (s) => call(s, '/me', stillSigned));
await row('provider down: an unseen opaque token', 503, (s) => call(s, '/me', unseen));

// ---------------------------------------------------------------- the table

const header = ['case', 'expected', ...servers.map((s) => s.label)];
const lines = rows.map((r) => [r.name, String(r.expected), ...r.got.map((g) => (g === r.expected ? String(g) : `${g} ✗`))]);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
const print = (cells) => console.log(`| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`);
print(header);
console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
lines.forEach(print);
const failed = rows.filter((r) => r.got.some((g) => g !== r.expected));
const total = rows.length * servers.length;
const bad = rows.reduce((n, r) => n + r.got.filter((g) => g !== r.expected).length, 0);
console.log(`\ninterop: ${total - bad} passed, ${bad} failed`);
stopAll();
process.exit(failed.length === 0 ? 0 : 1);
