/**
 * The Temporal connection comes from @temporalio/envconfig: a TOML profile (TEMPORAL_PROFILE,
 * TEMPORAL_CONFIG_FILE) with the TEMPORAL_* variables over it. Parsing is checked against temp
 * profile files; then the real connection: a client, and `npm run temporal:setup`, reach the
 * shared dev server through a profile alone, and a profile's API key really turns TLS on.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../platform/config';
import { connectionOptions, createTemporalClient, isTemporalUnavailable } from '../platform/temporal';
import { tempDir } from './support/env';

const root = path.resolve(__dirname, '..');
const dir = tempDir('profiles');
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
};
const crt = write('client.crt', 'CERTIFICATE BYTES');
const key = write('client.key', 'KEY BYTES');
const profiles = write(
  'temporal.toml',
  `[profile.default]
address = "127.0.0.1:7233"

[profile.cloud]
address = "my-ns.a1b2c.tmprl.cloud:7233"
namespace = "my-ns.a1b2c"
api_key = "secret-key"

[profile.mtls]
address = "temporal.internal:7233"
namespace = "conveyor"
[profile.mtls.tls]
client_cert_path = "${crt}"
client_key_path = "${key}"
server_name = "temporal.internal"
[profile.mtls.grpc_meta]
x-tenant = "acme"
`,
);

test('a profile names the cluster: address, namespace, API key (TLS implied), and the embedded dev server is off', () => {
  const { temporal } = loadConfig({ TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_PROFILE: 'cloud' });
  expect(temporal).toMatchObject({ embedded: false, address: 'my-ns.a1b2c.tmprl.cloud:7233', namespace: 'my-ns.a1b2c', tls: true, profile: 'cloud', uiUrl: undefined });
  expect(connectionOptions(temporal)).toEqual({ address: 'my-ns.a1b2c.tmprl.cloud:7233', tls: true, apiKey: 'secret-key', metadata: undefined });
});

test('mTLS files, server name and gRPC metadata from a profile reach the connection options', () => {
  const { temporal } = loadConfig({ TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_PROFILE: 'mtls' });
  const options = connectionOptions(temporal);
  expect(options.tls).toMatchObject({ serverNameOverride: 'temporal.internal' });
  const pair = (options.tls as { clientCertPair: { crt: Uint8Array; key: Uint8Array } }).clientCertPair;
  expect(Buffer.from(pair.crt).toString()).toBe('CERTIFICATE BYTES');
  expect(Buffer.from(pair.key).toString()).toBe('KEY BYTES');
  expect(options.metadata).toEqual({ 'x-tenant': 'acme' });
});

test('TEMPORAL_* variables override the profile, as in every Temporal SDK', () => {
  const { temporal } = loadConfig({ TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_PROFILE: 'cloud', TEMPORAL_NAMESPACE: 'other-ns', TEMPORAL_API_KEY: 'env-key' });
  expect(temporal.namespace).toBe('other-ns');
  expect(connectionOptions(temporal).apiKey).toBe('env-key');
  expect(loadConfig({ TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_PROFILE: 'cloud', TEMPORAL_ADDRESS: 'elsewhere:7233' }).temporal.address).toBe('elsewhere:7233');
});

test('without TEMPORAL_PROFILE or TEMPORAL_CONFIG_FILE the CLI\'s default file is not read: `npm start` stays on its dev server', () => {
  const xdg = tempDir('xdg');
  fs.mkdirSync(path.join(xdg, 'temporalio'));
  fs.writeFileSync(path.join(xdg, 'temporalio', 'temporal.toml'), '[profile.default]\naddress = "my-ns.a1b2c.tmprl.cloud:7233"\napi_key = "k"\n');
  expect(loadConfig({ XDG_CONFIG_HOME: xdg }).temporal).toMatchObject({ embedded: true, address: '127.0.0.1:7233', tls: false, profile: undefined });
  // Asked for by name, the default file's profile is used.
  expect(loadConfig({ XDG_CONFIG_HOME: xdg, TEMPORAL_PROFILE: 'default' }).temporal).toMatchObject({ embedded: false, address: 'my-ns.a1b2c.tmprl.cloud:7233', tls: true });
});

test('the deprecated TEMPORAL_TLS_CERT_PATH / _KEY_PATH still work, as the envconfig names, with a warning', () => {
  const { temporal } = loadConfig({ TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_TLS_CERT_PATH: crt, TEMPORAL_TLS_KEY_PATH: key });
  expect(temporal.tls).toBe(true);
  expect(Buffer.from((connectionOptions(temporal).tls as { clientCertPair: { crt: Uint8Array } }).clientCertPair.crt).toString()).toBe('CERTIFICATE BYTES');
  expect(temporal.deprecated).toEqual([expect.stringContaining('TEMPORAL_TLS_CLIENT_CERT_PATH'), expect.stringContaining('TEMPORAL_TLS_CLIENT_KEY_PATH')]);
  const current = loadConfig({ TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_TLS_CLIENT_CERT_PATH: crt, TEMPORAL_TLS_CLIENT_KEY_PATH: key }).temporal;
  expect(current.deprecated).toEqual([]);
  expect(connectionOptions(current)).toEqual(connectionOptions(temporal));
});

test.each([
  ['an unknown profile', { TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_PROFILE: 'nope' }, /TEMPORAL_PROFILE="nope".*Profile 'nope' not found/],
  ['a missing file', { TEMPORAL_CONFIG_FILE: path.join(dir, 'missing.toml') }, /TEMPORAL_CONFIG_FILE=".*missing\.toml": no such file/],
  ['a file that is not TOML', { TEMPORAL_CONFIG_FILE: write('bad.toml', '[profile.default\naddress = ') }, /TEMPORAL_CONFIG_FILE=".*bad\.toml": /],
  ['a profile address without a port', { TEMPORAL_CONFIG_FILE: write('noport.toml', '[profile.default]\naddress = "temporal.internal"\n') }, /address "temporal.internal" in the profile 'default': expected host:port/],
  ['an API key without an address', { TEMPORAL_API_KEY: 'k' }, /API key or TLS is set but no address/],
  ['an API key with TLS turned off, to a remote host', { TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }, /clear text/],
  ['a certificate without its key', { TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_TLS_CLIENT_CERT_PATH: crt }, /must be set together/],
  ['the deprecated and the current name for different files', { TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_TLS_CERT_PATH: crt, TEMPORAL_TLS_CLIENT_CERT_PATH: key, TEMPORAL_TLS_KEY_PATH: key }, /TEMPORAL_TLS_CERT_PATH \(deprecated\) and TEMPORAL_TLS_CLIENT_CERT_PATH/],
])('%s is refused at start-up with a message naming it', (_what, env, message) => {
  expect(() => loadConfig(env as Record<string, string>)).toThrow(message);
});

// ---- the real connection, against the shared dev server ----

const devServer = () => process.env.CONVEYOR_TEST_TEMPORAL_ADDRESS!;
const localProfiles = () =>
  write(
    'local.toml',
    `[profile.local]\naddress = "${devServer()}"\nnamespace = "default"\n\n[profile.local-with-key]\naddress = "${devServer()}"\napi_key = "k"\n`,
  );

test('a client built from a profile alone reaches the server it names', async () => {
  const { temporal } = loadConfig({ TEMPORAL_CONFIG_FILE: localProfiles(), TEMPORAL_PROFILE: 'local' });
  expect(temporal.embedded).toBe(false);
  const client = createTemporalClient(temporal);
  try {
    const { namespaceInfo } = await client.workflowService.describeNamespace({ namespace: temporal.namespace });
    expect(namespaceInfo?.name).toBe('default');
  } finally {
    await client.connection.close();
  }
});

test('a profile\'s API key turns TLS on for real: the plain-text dev server cannot be reached with it', async () => {
  const { temporal } = loadConfig({ TEMPORAL_CONFIG_FILE: localProfiles(), TEMPORAL_PROFILE: 'local-with-key' });
  expect(temporal.tls).toBe(true);
  const client = createTemporalClient(temporal);
  try {
    // The same call without the key succeeds (the test above); with it the TLS handshake never completes.
    const failure = await client.withDeadline(Date.now() + 3_000, () => client.workflowService.getSystemInfo({})).then(() => undefined, (err: unknown) => err);
    expect(isTemporalUnavailable(failure)).toBe(true);
  } finally {
    await client.connection.close();
  }
});

test('`npm run temporal:setup` connects through TEMPORAL_PROFILE with no TEMPORAL_ADDRESS set', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_CONFIG_FILE: localProfiles(), TEMPORAL_PROFILE: 'local' };
  delete env.TEMPORAL_ADDRESS;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bin/temporal-setup.ts'], { cwd: root, env });
  expect(stdout).toContain(`temporal:setup ${devServer()}: nothing to create`);
}, 60_000);
