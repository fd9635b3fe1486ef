/** The partitions × batch-size grid of bench:lane, and where adding partitions stops paying. */
export interface GridCell {
  partitions: number;
  batchSize: number;
  itemsPerSecond: number;
}

/** Doubling partitions must add at least this much throughput to count as still scaling. */
export const KNEE_GAIN = 1.2;

/**
 * Per batch size, the knee: the partition count after which the next step up (the next larger
 * count measured) gains less than KNEE_GAIN×; null when every step still gains that much (no knee
 * within the grid).
 */
export function kneesByBatchSize(cells: GridCell[]): Array<{ batchSize: number; partitions: number | null; itemsPerSecond: number | null }> {
  const batchSizes = [...new Set(cells.map((c) => c.batchSize))].sort((a, b) => a - b);
  return batchSizes.map((batchSize) => {
    const row = cells.filter((c) => c.batchSize === batchSize).sort((a, b) => a.partitions - b.partitions);
    const knee = row.find((c, i) => i + 1 < row.length && row[i + 1]!.itemsPerSecond < c.itemsPerSecond * KNEE_GAIN);
    return { batchSize, partitions: knee?.partitions ?? null, itemsPerSecond: knee?.itemsPerSecond ?? null };
  });
}
