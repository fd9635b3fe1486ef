/**
 * The live feed across processes on PostgreSQL (LISTEN/NOTIFY): an event a relay publishes
 * reaches the SSE clients of every API process, whichever process published it. Two parts: the
 * bridge itself with separate feeds and connections (one publishes, two listen; a listener whose
 * connection is killed comes back), then the real roles as child processes: one relay and two
 * APIs, a sign-up through one API, the event on both APIs' live feeds.
 */
import pg from 'pg';
import { createLiveEvents } from '../../platform/live-events';
import { bridgeLiveEvents, LIVE_CHANNEL, type LiveEventsBridge } from '../../platform/live-events-postgres';
import { freePort } from '../../platform/ports';
import type { StreamEvent } from '../../workflows/streams/definition';
import { postJson, testLogger, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

const postgres = testDatabases().find(([name]) => name === 'PostgreSQL');
const describePostgres = postgres ? describe : describe.skip;

const event = (eventId: string, payload: Record<string, unknown> = {}): StreamEvent & { tenantId: string } => ({
  stream: 'users', offset: 1, eventId, type: 'UserSignedUp', payload, correlationId: 'c', causationId: 'c', createdAt: new Date().toISOString(), tenantId: 'default',
});

describePostgres('live feed over PostgreSQL', () => {
  let url: string;
  const bridges: LiveEventsBridge[] = [];
  beforeAll(async () => {
    const target = await postgres![1]();
    if (target.kind !== 'postgres') throw new Error('expected PostgreSQL');
    url = target.url;
  });
  afterAll(async () => {
    for (const b of bridges) await b.close();
  });

  const feedWith = async (role: { publish?: boolean; listen?: boolean }) => {
    const feed = createLiveEvents();
    const bridge = bridgeLiveEvents({ databaseUrl: url, logger: testLogger, feed, ...role });
    bridges.push(bridge);
    await bridge.listening;
    const seen: string[] = [];
    feed.subscribe((e) => seen.push(e.eventId));
    return { feed, seen };
  };

  test('one feed publishes, two others (own connections) each receive every event once, in order', async () => {
    const relay = await feedWith({ publish: true });
    const apiA = await feedWith({ listen: true });
    const apiB = await feedWith({ listen: true });
    const ids = Array.from({ length: 20 }, (_, i) => `e-${i}`);
    for (const id of ids) relay.feed.publish(event(id));
    // Too large for a NOTIFY: dropped, not an error for the publisher.
    relay.feed.publish(event('too-big', { blob: 'x'.repeat(9000) }));
    relay.feed.publish(event('after-big'));
    await waitFor('both listeners to get every event', async () => (apiA.seen.length === 21 && apiB.seen.length === 21 ? true : undefined), 10_000);
    expect(apiA.seen).toEqual([...ids, 'after-big']);
    expect(apiB.seen).toEqual([...ids, 'after-big']);
    // The publisher does not listen: nothing reached its own subscribers.
    expect(relay.seen).toEqual([]);
  });

  test('a listener whose connection is killed reconnects and receives what is published afterwards', async () => {
    const relay = await feedWith({ publish: true });
    const api = await feedWith({ listen: true });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const killed = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = $1`,
        [`LISTEN ${LIVE_CHANNEL}`],
      );
      expect(killed.rowCount).toBeGreaterThanOrEqual(1);
      await waitFor('the listener to be back', async () => {
        relay.feed.publish(event(uniqueTag('probe')));
        return api.seen.length > 0 ? true : undefined;
      }, 15_000);
    } finally {
      await admin.end();
    }
  });
});

describePostgres('live feed across role processes', () => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await startTestDeployment({ env: { ...databaseEnv(await postgres![1]()), OUTBOX_POLL_INTERVAL: '100ms', WELCOME_FOLLOW_UP_DELAY: '1 hour' }, api: false });
  }, 60_000);
  afterAll(() => d?.stop());

  /** Read an SSE stream in the background; text() is everything received so far. */
  async function readLive(url: string, signal: AbortSignal): Promise<{ text: () => string }> {
    const res = await fetch(url, { signal });
    expect(res.status).toBe(200);
    let text = '';
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        text += decoder.decode(value, { stream: true });
      }
    })();
    await waitFor('the SSE greeting', async () => (text.includes(': connected') ? true : undefined));
    return { text: () => text };
  }

  test('a sign-up through one API: the relay process publishes, SSE clients of both API processes get it', async () => {
    const ports = [await freePort(), await freePort()];
    for (const port of ports) await d.spawn('api', { PORT: String(port) });
    await d.spawn('relay');
    const abort = new AbortController();
    try {
      const feeds = await Promise.all(ports.map((port) => readLive(`http://127.0.0.1:${port}/v1/topics/users/live`, abort.signal)));
      const userId = uniqueTag('u');
      const signUp = await postJson(`http://127.0.0.1:${ports[0]}/v1/users`, { userId, email: `${userId}@example.com`, name: 'Ada' });
      expect(signUp.status).toBe(201);
      for (const feed of feeds) {
        await waitFor('the UserSignedUp event on this API', async () => (feed.text().includes(`"aggregateId":"${userId}"`) || feed.text().includes(userId) ? true : undefined), 20_000);
        expect(feed.text()).toContain('event: UserSignedUp');
      }
    } finally {
      abort.abort();
    }
  }, 60_000);
});
