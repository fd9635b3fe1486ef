/**
 * End-to-end encryption of everything Conveyor hands Temporal (workflow and activity inputs and
 * results, signals, queries, updates, memo, failure messages): an AES-256-GCM PayloadCodec that
 * every client and worker installs through its data converter. The Temporal server, its database,
 * `temporal workflow show` and the Web UI see only ciphertext; the Web UI shows the clear text
 * only through the codec server (api/codec-server.ts), to someone holding the operator token.
 *
 * Each encrypted payload names the ID of the key it was written with, so after a rotation
 * (a new key first in the list, the old ones kept after it) old histories still decode.
 * Search attributes and workflow IDs are never encoded: they must carry no PII (tested).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/** Temporal's own names (its samples and tools use them), so other codec servers recognise our payloads. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface CodecKey {
  id: string;
  key: Buffer;
}

export interface CodecSettings {
  /** CONVEYOR_CODEC_KEYS: `id:base64key,...`, the first one encrypts. */
  keys?: string;
  /** CONVEYOR_CODEC_KEY_FILE (default: codec-keys in the data dir): the same list, one per line or comma-separated. */
  keyFile: string;
}

export class CodecKeyError extends Error {
  override name = 'CodecKeyError';
}

/** Parse `id:base64key,...` (commas or newlines; `#` comments in files). The first key is the primary. */
export function parseCodecKeys(text: string, source: string): CodecKey[] {
  const entries = text
    .split('\n')
    .flatMap((line) => line.replace(/#.*/, '').split(','))
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new CodecKeyError(`${source}: no keys (expected id:base64key,...)`);
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    // Never echo the key material itself in the error.
    if (!KEY_ID.test(id)) throw new CodecKeyError(`${source}: key #${index + 1} needs an ID of 1-64 letters, digits, '.', '_' or '-' before ':'`);
    if (seen.has(id)) throw new CodecKeyError(`${source}: key ID '${id}' appears twice`);
    seen.add(id);
    const key = Buffer.from(entry.slice(colon + 1), 'base64');
    if (key.length !== KEY_BYTES) throw new CodecKeyError(`${source}: key '${id}' must be ${KEY_BYTES} bytes in base64 (got ${key.length})`);
    return { id, key };
  });
}

/** A fresh `id:base64key` entry (e.g. for a rotation: put it first in the list). */
export function generateCodecKey(id: string): string {
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

/** The configured keys: CONVEYOR_CODEC_KEYS, else the key file if it exists, else none (no encryption). */
export function loadCodecKeys(settings: CodecSettings): CodecKey[] | undefined {
  if (settings.keys) return parseCodecKeys(settings.keys, 'CONVEYOR_CODEC_KEYS');
  let text: string;
  try {
    text = fs.readFileSync(settings.keyFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseCodecKeys(text, settings.keyFile);
}

/**
 * `npm start` without configured keys: create a development key file in the data dir (mode 0600),
 * once; later starts and every role on the same data dir read it. Returns true if it was created.
 */
export function ensureDevelopmentKeyFile(settings: CodecSettings): boolean {
  if (settings.keys) return false;
  fs.mkdirSync(path.dirname(settings.keyFile), { recursive: true });
  const id = `dev-${new Date().toISOString().slice(0, 10)}`;
  const text = `# Development payload key, made by npm start. Never commit it; for real keys set CONVEYOR_CODEC_KEYS.\n${generateCodecKey(id)}\n`;
  try {
    fs.writeFileSync(settings.keyFile, text, { flag: 'wx', mode: 0o600 }); // wx: two starts never overwrite each other's key
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

/**
 * AES-256-GCM over the whole serialised payload (its metadata included, so not even the original
 * encoding shows). A fresh random 96-bit IV per payload; the key ID is bound as additional
 * authenticated data, so a payload cannot be passed off as written under another key.
 */
export class AesGcmCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: CodecKey[]) {
    if (keys.length === 0) throw new CodecKeyError('AesGcmCodec needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0]!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(utf8(id));
      const clear = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(clear), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(id) }, data };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // Not ours (written before encryption was turned on): pass through unchanged.
      if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
      const id = text(payload.metadata?.[KEY_ID_METADATA]);
      const key = id === undefined ? undefined : this.byId.get(id);
      if (!key || id === undefined) throw new CodecKeyError(`payload encrypted with unknown key '${id ?? '(none)'}': add it to CONVEYOR_CODEC_KEYS`);
      const data = Buffer.from(payload.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) throw new CodecKeyError('encrypted payload is truncated');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(utf8(id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const clear = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(clear);
    });
  }
}

/** The failure converter, also bundled into the workflow code (see workflowBundleOptions). */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/**
 * The data converter every Conveyor client and worker uses: failure messages and stack traces go
 * into an encoded payload (so the codec encrypts them too), and the codec when keys are configured.
 */
export function conveyorDataConverter(settings: CodecSettings): DataConverter {
  const keys = loadCodecKeys(settings);
  return { failureConverterPath: FAILURE_CONVERTER_PATH, payloadCodecs: keys ? [new AesGcmCodec(keys)] : [] };
}
