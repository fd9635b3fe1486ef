import type { Database } from '../db/database';
import { overdueLanePartitions } from '../db/lane';
import type { Config } from '../platform/config';
import type { TemporalGateway } from '../platform/temporal';
import { laneWakeSignal } from '../workflows/lane/definition';
import { lanePartitionStart } from '../workflows/lane/job';
import { jobs } from '../workflows/registry';

/**
 * The lane's safety net, run by the outbox relay every LANE_IDLE_CHECK: a partition whose items
 * have waited for two idle checks has no live workflow (the API died between its commit and its
 * wake, before that partition's workflow ever started), so it is started here.
 */
export async function wakeOverdueLanes(gateway: TemporalGateway, db: Database, config: Config): Promise<number> {
  const overdue = await overdueLanePartitions(db, 2 * config.lane.idleCheckMs);
  for (const { jobType, partition } of overdue) {
    const job = jobs.find((j) => j.name === jobType && j.lane);
    if (job) await gateway.signalWithStart(lanePartitionStart(job, partition, config), laneWakeSignal, []);
  }
  return overdue.length;
}
