/**
 * The counting behind bench:lane's published numbers: how deliveries are classified in a fault
 * run, and where the partitions × batch-size grid has its knee.
 */
import { countDeliveries } from '../../bench/lib/faults';
import { kneesByBatchSize } from '../../bench/lib/knee';

describe('countDeliveries', () => {
  const jobs = new Map([
    ['a', true], // delivered once
    ['b', true], // never delivered: lost
    ['c', true], // the same message twice, then a different one
    ['d', false], // never acknowledged, delivered anyway
    ['e', false], // never acknowledged, never delivered: not lost
  ]);
  const counts = countDeliveries(jobs, [
    { jobId: 'a', messageId: '<1@x>' },
    { jobId: 'c', messageId: '<3@x>' },
    { jobId: 'c', messageId: '<3@x>' },
    { jobId: 'c', messageId: '<4@x>' },
    { jobId: 'd', messageId: '<5@x>' },
    { jobId: 'zz', messageId: '<6@x>' }, // no job of the run
    { jobId: undefined, messageId: '<7@x>' },
  ]);

  test('an acknowledged job with no email is lost; one never acknowledged is not', () => {
    expect(counts.lost).toBe(1);
    expect(counts.examples.lost).toEqual(['b']);
    expect(counts.deliveredWithoutAck).toBe(1);
  });

  test('a copy with a Message-ID already delivered is a re-send; a different Message-ID is a duplicate', () => {
    expect(counts.resentSameMessageId).toBe(1);
    expect(counts.duplicated).toBe(1);
    expect(counts.examples.resentSameMessageId).toEqual(['c']);
    expect(counts.examples.duplicated).toEqual(['c']);
  });

  test('emails for no job of the run are unexpected', () => {
    expect(counts.unexpected).toBe(2);
  });

  test('every job delivered once counts nothing', () => {
    const clean = countDeliveries(new Map([['a', true], ['b', true]]), [{ jobId: 'a', messageId: '<1@x>' }, { jobId: 'b', messageId: '<2@x>' }]);
    expect(clean).toMatchObject({ lost: 0, resentSameMessageId: 0, duplicated: 0, unexpected: 0, deliveredWithoutAck: 0 });
  });
});

describe('kneesByBatchSize', () => {
  test('the knee is the first partition count whose next step gains less than 20%; none while every step gains more', () => {
    const cells = [
      { partitions: 1, batchSize: 10, itemsPerSecond: 100 },
      { partitions: 2, batchSize: 10, itemsPerSecond: 190 },
      { partitions: 4, batchSize: 10, itemsPerSecond: 210 }, // +10.5%: 2 is the knee
      { partitions: 8, batchSize: 10, itemsPerSecond: 400 },
      { partitions: 1, batchSize: 1, itemsPerSecond: 20 },
      { partitions: 2, batchSize: 1, itemsPerSecond: 40 },
      { partitions: 4, batchSize: 1, itemsPerSecond: 80 },
      { partitions: 8, batchSize: 1, itemsPerSecond: 160 },
    ];
    expect(kneesByBatchSize(cells)).toEqual([
      { batchSize: 1, partitions: null, itemsPerSecond: null },
      { batchSize: 10, partitions: 2, itemsPerSecond: 190 },
    ]);
  });
});
