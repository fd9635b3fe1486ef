/**
 * The payload codec: AES-256-GCM with the key ID in the payload, rotation, and what a person
 * without the key sees of a real welcome job on the real dev server (the CLI, a client without
 * the codec, search attributes, the workflow ID).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import nodemailer from 'nodemailer';
import { createActivities } from '../../activities';
import { AesGcmCodec, CodecKeyError, conveyorDataConverter, ensureDevelopmentKeyFile, generateCodecKey, KEY_ID_METADATA, loadCodecKeys, parseCodecKeys } from '../../platform/codec';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import { json, postJson, tempDir, waitFor } from '../support/env';
import { cliWorkflowShow, mentions, uniquePerson } from '../support/pii';

const key1 = generateCodecKey('k1');
const key2 = generateCodecKey('k2');
const toPayload = (value: unknown) => defaultPayloadConverter.toPayload(value);
const fromPayload = (payload: Payload) => defaultPayloadConverter.fromPayload(payload);
const meta = (payload: Payload, name: string) => Buffer.from(payload.metadata![name]!).toString();

describe('AesGcmCodec', () => {
  test('encrypts the whole payload, names its key, and round-trips', async () => {
    const codec = new AesGcmCodec(parseCodecKeys(key1, 'test'));
    const clear = toPayload({ email: 'ada@example.com', name: 'Ada' });
    const [encoded] = await codec.encode([clear]);
    expect(meta(encoded!, 'encoding')).toBe('binary/encrypted');
    expect(meta(encoded!, KEY_ID_METADATA)).toBe('k1');
    expect(Buffer.from(encoded!.data!).toString('latin1')).not.toMatch(/ada@example|json\/plain/);
    // A fresh IV each time: equal inputs do not give equal ciphertexts.
    const [again] = await codec.encode([clear]);
    expect(Buffer.from(again!.data!).equals(Buffer.from(encoded!.data!))).toBe(false);
    const [decoded] = await codec.decode([encoded!]);
    expect(fromPayload(decoded!)).toEqual({ email: 'ada@example.com', name: 'Ada' });
  });

  test('rotation: data written under key 1 still decodes once key 2 is primary; new data uses key 2', async () => {
    const before = new AesGcmCodec(parseCodecKeys(key1, 'test'));
    const [old] = await before.encode([toPayload('written under k1')]);

    const rotated = new AesGcmCodec(parseCodecKeys(`${key2},${key1}`, 'test'));
    expect(fromPayload((await rotated.decode([old!]))[0]!)).toBe('written under k1');
    const [fresh] = await rotated.encode([toPayload('written under k2')]);
    expect(meta(fresh!, KEY_ID_METADATA)).toBe('k2');

    // Once key 1 is dropped its data no longer decodes, with an error that says which key is missing.
    const dropped = new AesGcmCodec(parseCodecKeys(key2, 'test'));
    await expect(dropped.decode([old!])).rejects.toThrow(/unknown key 'k1'/);
    expect(fromPayload((await dropped.decode([fresh!]))[0]!)).toBe('written under k2');
  });

  test('tampering, or relabelling the key ID, fails authentication', async () => {
    const codec = new AesGcmCodec(parseCodecKeys(`${key1},${key2.replace('k2:', 'k1b:')}`, 'test'));
    const [encoded] = await codec.encode([toPayload('x')]);
    const flipped = Buffer.from(encoded!.data!);
    flipped[20]! ^= 1;
    await expect(codec.decode([{ ...encoded!, data: flipped }])).rejects.toThrow();
    const relabelled = { ...encoded!, metadata: { ...encoded!.metadata, [KEY_ID_METADATA]: Buffer.from('k1b') } };
    await expect(codec.decode([relabelled])).rejects.toThrow();
  });

  test('payloads that were never encrypted pass through', async () => {
    const codec = new AesGcmCodec(parseCodecKeys(key1, 'test'));
    expect(fromPayload((await codec.decode([toPayload('clear')]))[0]!)).toBe('clear');
  });

  test('npm start\'s development key file: created once (mode 0600), read back, never overwritten', () => {
    const keyFile = path.join(tempDir('keys'), 'codec-keys');
    expect(loadCodecKeys({ keyFile })).toBeUndefined();
    expect(ensureDevelopmentKeyFile({ keyFile })).toBe(true);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const [key] = loadCodecKeys({ keyFile })!;
    expect(ensureDevelopmentKeyFile({ keyFile })).toBe(false);
    expect(loadCodecKeys({ keyFile })![0]!.key.equals(key!.key)).toBe(true);
    // Configured keys win over the file, and npm start then creates none.
    expect(loadCodecKeys({ keys: key2, keyFile })![0]!.id).toBe('k2');
    expect(ensureDevelopmentKeyFile({ keys: key2, keyFile: `${keyFile}-2` })).toBe(false);
    expect(fs.existsSync(`${keyFile}-2`)).toBe(false);
  });

  test('bad key configuration is refused without echoing the key', () => {
    expect(() => parseCodecKeys('', 'K')).toThrow(CodecKeyError);
    expect(() => parseCodecKeys('nokeyid', 'K')).toThrow(/needs an ID/);
    expect(() => parseCodecKeys('a:c2hvcnQ=', 'K')).toThrow(/32 bytes/);
    expect(() => parseCodecKeys(`${key1},${key1}`, 'K')).toThrow(/twice/);
    const secret = key1.split(':')[1]!;
    try {
      parseCodecKeys(`bad id:${secret}`, 'K');
    } catch (err) {
      expect((err as Error).message).not.toContain(secret);
    }
  });
});

describe('a welcome job on the real dev server', () => {
  let deployment: TestDeployment;
  const person = uniquePerson();
  let workflowId: string;

  beforeAll(async () => {
    deployment = await startTestDeployment({ mail: true, worker: true, env: { WELCOME_FOLLOW_UP_DELAY: '1s', CONVEYOR_CODEC_KEYS: key1 } });
    const res = await postJson(`${deployment.url}/v1/welcome-emails`, person);
    expect(res.status).toBe(202);
    workflowId = (await json(res)).jobId;
    await waitFor('the job to complete', async () => ((await json(await fetch(`${deployment.url}/v1/jobs/${encodeURIComponent(workflowId)}`))).status === 'COMPLETED' ? true : undefined));
  });
  afterAll(() => deployment?.stop());

  test('temporal workflow show, without the codec, shows no email or name anywhere', async () => {
    const history = await cliWorkflowShow(deployment.config.temporal.address, deployment.config.temporal.namespace, workflowId);
    // The whole history is there (so the search below is meaningful), its payloads encrypted.
    expect(history).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    expect(history).toContain(Buffer.from('binary/encrypted').toString('base64'));
    expect(mentions(history, person.email)).toBe(false);
    expect(mentions(history, person.name)).toBe(false);
  });

  test('search attributes, memo, summary and the workflow ID carry no PII', async () => {
    // Search attributes are indexed in clear (never through the codec); summary and details are
    // encrypted too, so read them with the codec to check their clear text.
    const bare = new Client({ connection: deployment.client.connection, namespace: deployment.config.temporal.namespace });
    const description = await deployment.client.workflow.getHandle(workflowId).describe();
    const visible = JSON.stringify({
      workflowId: description.workflowId,
      searchAttributes: description.searchAttributes,
      typedSearchAttributes: description.typedSearchAttributes,
      memo: description.memo ?? null,
      summary: await description.staticSummary(),
      details: await description.staticDetails(),
    });
    expect(visible).not.toContain(person.email);
    expect(visible).not.toContain(person.name);
    // Visibility (what the Web UI lists and searches) has nothing on the person either.
    for await (const listed of bare.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      expect(JSON.stringify({ id: listed.workflowId, sa: listed.searchAttributes, memo: listed.memo ?? null })).not.toMatch(new RegExp(`${person.email}|${person.name}`));
    }
  });

  test('a client with the codec reads the input; after a rotation to key 2 it still does', async () => {
    const rotated = new Client({
      connection: await Connection.connect({ address: deployment.config.temporal.address }),
      namespace: deployment.config.temporal.namespace,
      dataConverter: conveyorDataConverter({ keys: `${key2},${key1}`, keyFile: '/nonexistent' }),
    });
    try {
      const history = await rotated.workflow.getHandle(workflowId).fetchHistory();
      const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
      // fetchHistory returns raw payloads: decode them as the Web UI's codec server would.
      const [input] = await new AesGcmCodec(parseCodecKeys(`${key2},${key1}`, 'test')).decode(started.input!.payloads!);
      expect(fromPayload(input!)).toMatchObject({ email: person.email, name: person.name });
      expect(await rotated.workflow.getHandle(workflowId).result()).toHaveProperty('welcomeMessageId');
    } finally {
      await rotated.connection.close();
    }
  });
});

test('a failure message that quotes the address is encrypted too (encodeCommonAttributes)', async () => {
  const d = await startTestDeployment({ env: { CONVEYOR_CODEC_KEYS: key1 } });
  try {
    const real = createActivities({ db: d.db, mailer: nodemailer.createTransport({ jsonTransport: true }), from: 'a@conveyor.localhost' });
    await d.startWorker({
      activities: {
        ...real,
        sendEmail: async (input) => {
          throw ApplicationFailure.nonRetryable(`mailbox ${input.to} of ${input.name} does not exist`);
        },
      },
    });
    const person = uniquePerson();
    const { jobId } = await json(await postJson(`${d.url}/v1/welcome-emails`, person));
    // Through the codec the failure reads in full, the address included...
    const failure = await d.client.workflow.getHandle(jobId).result().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(((failure as WorkflowFailedError).cause?.cause as Error | undefined)?.message).toBe(`mailbox ${person.email} of ${person.name} does not exist`);
    // ...while the stored history has neither the address nor the name.
    const history = await cliWorkflowShow(d.config.temporal.address, d.config.temporal.namespace, jobId);
    expect(history).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_FAILED');
    expect(history).toContain('Encoded failure');
    expect(mentions(history, person.email)).toBe(false);
    expect(mentions(history, person.name)).toBe(false);
  } finally {
    await d.stop();
  }
});
