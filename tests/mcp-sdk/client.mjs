// The MCP SDK run: the official TypeScript SDK client (@modelcontextprotocol/sdk, pinned in
// package-lock.json) against examples/mcp-server with tokens from its development issuer (the
// testkit issuer, on loopback). Prints one table and exits non-zero on any row that differs
// from what it expects.
//
//   node client.mjs TARGET_DIR      (bash tests/mcp-sdk/run.sh builds the server first)
//
// Every address is on 127.0.0.1; every wait is bounded.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const targetDir = process.argv[2];
if (!targetDir) {
  console.error('usage: node client.mjs TARGET_DIR');
  process.exit(2);
}
const BROWSER = 'http://localhost:5173';
const rows = [];
let server;

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function row(step, expected, got) {
  rows.push({ step, expected: String(expected), got: String(got), ok: String(expected) === String(got) });
}

async function startServer() {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const child = spawn(`${targetDir}/mcp-server`, [], {
    env: {
      ...process.env,
      TOKENGATE_DEV_ISSUER: '1',
      TOKENGATE_ADDR: addr,
      TOKENGATE_CORS_ORIGINS: BROWSER,
      RUST_LOG: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  child.output = () => output;
  const deadline = Date.now() + 30_000;
  const tokenAfter = (label) => {
    const match = output.match(new RegExp(`${label}[^\\n]*:\\n\\s+(\\S+)`));
    return match && match[1];
  };
  while (Date.now() < deadline) {
    const reader = tokenAfter('Token with messages:read \\(list_messages\\)');
    const writer = tokenAfter('Token with messages:read messages:write');
    const other = tokenAfter('Token for another user');
    if (reader && writer && other) {
      return { child, url: `http://${addr}/mcp`, reader, writer, other };
    }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`mcp-server did not start:\n${output}`);
}

/** A connected SDK client; `seen` records each HTTP response the transport got. */
async function connect(url, token) {
  const seen = [];
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      seen.push(response);
      return response;
    },
  });
  const client = new Client({ name: 'tokengate-sdk-run', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport, seen };
}

function text(result) {
  return (result.content || []).map((c) => c.text).join('\n');
}

async function post(url, headers, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
      ...headers,
    },
    body: JSON.stringify(body),
  });
  let json = null;
  const raw = await response.text();
  try { json = JSON.parse(raw); } catch { /* SSE or empty */ }
  return { response, json };
}

async function main() {
  server = await startServer();
  const { url, reader, writer, other } = server;

  // Discovery: the 401 points to the RFC 9728 metadata, readable cross-origin.
  const anonymous = await post(url, { origin: BROWSER }, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
  const challenge = anonymous.response.headers.get('www-authenticate') || '';
  row('no token: status', 401, anonymous.response.status);
  const metadataUrl = (challenge.match(/resource_metadata="([^"]+)"/) || [])[1];
  row('no token: challenge names resource_metadata', true, Boolean(metadataUrl));
  const metadata = await fetch(metadataUrl, { headers: { origin: 'https://any.example' } });
  const document = await metadata.json();
  row('metadata: authorization server', true, (document.authorization_servers || []).length === 1);
  row('metadata: CORS allow-origin', '*', metadata.headers.get('access-control-allow-origin'));
  row('metadata: offline_access not in scopes_supported', false, (document.scopes_supported || []).includes('offline_access'));

  // The SDK client with a read-only token: initialize, tools/list, a permitted call.
  const alice = await connect(url, reader);
  const tools = await alice.client.listTools();
  row('SDK: tools/list', 'ask_downstream,list_messages,post_message', tools.tools.map((t) => t.name).sort().join(','));
  const listed = await alice.client.callTool({ name: 'list_messages', arguments: {} });
  row('SDK: permitted call (list_messages)', 'No messages for alice.', text(listed));

  // A call the token's scopes do not cover: 403 naming the scope; the SDK raises it.
  let reaction = 'no error';
  try {
    await alice.client.callTool({ name: 'post_message', arguments: { to: 'bob', text: 'hello' } });
  } catch (error) {
    reaction = error instanceof StreamableHTTPError ? `StreamableHTTPError ${error.code}` : `${error.constructor.name}`;
  }
  row('SDK: post_message with messages:read', 'StreamableHTTPError 403', reaction);
  const refused = alice.seen.filter((r) => r.status === 403).at(-1);
  row('403 challenge', 'insufficient_scope messages:write',
    refused ? `${(refused.headers.get('www-authenticate').match(/error="([^"]+)"/) || [])[1]} ${(refused.headers.get('www-authenticate').match(/scope="([^"]+)"/) || [])[1]}` : 'none');
  // The client's step-up: a token with the scope the challenge named.
  const aliceWriter = await connect(url, writer);
  const sent = await aliceWriter.client.callTool({ name: 'post_message', arguments: { to: 'bob', text: 'hello' } });
  row('SDK: post_message after step-up', 'Sent from alice to bob.', text(sent));

  // Another user's token on alice's session: 404, as for an unknown session.
  const session = alice.transport.sessionId;
  const hijack = await post(url, { authorization: `Bearer ${other}`, 'mcp-session-id': session },
    { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'list_messages', arguments: {} } });
  row("another user's token on alice's session", 404, hijack.response.status);
  const bob = await connect(url, other);
  const inbox = await bob.client.callTool({ name: 'list_messages', arguments: {} });
  row('SDK: bob reads his own messages', 'alice: hello', text(inbox));

  // Mcp-Method that contradicts the body: 400 with JSON-RPC -32020, no challenge.
  const mismatch = await post(url, {
    authorization: `Bearer ${writer}`, 'mcp-session-id': aliceWriter.transport.sessionId,
    'mcp-method': 'tools/list',
  }, { jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'post_message', arguments: { to: 'x', text: 'y' } } });
  row('header/body mismatch', '400 -32020 no-challenge',
    `${mismatch.response.status} ${mismatch.json?.error?.code} ${mismatch.response.headers.get('www-authenticate') ? 'challenge' : 'no-challenge'}`);

  // A browser's CORS preflight passes before authentication.
  const preflight = await fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin: BROWSER,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type,mcp-session-id,mcp-protocol-version',
    },
  });
  row('CORS preflight', `ok ${BROWSER}`, `${preflight.ok ? 'ok' : preflight.status} ${preflight.headers.get('access-control-allow-origin')}`);

  // A page on another origin (DNS rebinding): 403 before authentication.
  const rebinding = await post(url, { authorization: `Bearer ${writer}`, origin: 'https://attacker.example' },
    { jsonrpc: '2.0', id: 11, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
  row('foreign Origin', '403 no-challenge',
    `${rebinding.response.status} ${rebinding.response.headers.get('www-authenticate') ? 'challenge' : 'no-challenge'}`);

  for (const c of [alice, aliceWriter, bob]) await c.client.close();
}

let failed = false;
try {
  await main();
} catch (error) {
  failed = true;
  console.error(`run stopped: ${error.stack || error}`);
  if (server) console.error(server.child.output());
} finally {
  if (server) server.child.kill();
}
console.log('| step | expected | got | ok |');
console.log('| --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.step} | ${r.expected} | ${r.got} | ${r.ok ? 'yes' : 'NO'} |`);
const bad = rows.filter((r) => !r.ok).length;
console.log(`${rows.length - bad}/${rows.length} rows as expected`);
process.exit(failed || bad ? 1 : 0);
