/**
 * Compensations for a saga, bundle-safe. A step's compensation is registered *before* the step
 * runs: a step that timed out or was cancelled may still have applied (or apply late), so its undo
 * must run whatever the step's own outcome; the undo activities find out whether there is
 * anything to undo (`undoOnce`). Compensations run newest first.
 */
import { CancellationScope } from '@temporalio/workflow';

export interface Compensated<Name extends string> {
  name: Name;
  reverted: boolean;
}

export class Compensations<Name extends string> {
  private readonly registered: Array<{ name: Name; undo: () => Promise<{ reverted: boolean }> }> = [];

  /** Register `undo` under `name`, then run `step`: the order that makes the saga correct. */
  async step<T>(name: Name, undo: () => Promise<{ reverted: boolean }>, step: () => Promise<T>): Promise<T> {
    this.registered.unshift({ name, undo });
    return step();
  }

  /**
   * Run every registered compensation, newest first, each to completion: not cancellable, since
   * a saga that is being cancelled must still finish undoing. `before` and `after` report each one.
   */
  async compensate(before: (name: Name) => void, after: (done: Compensated<Name>) => void): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      for (const { name, undo } of this.registered) {
        before(name);
        const { reverted } = await undo();
        after({ name, reverted });
      }
    });
  }
}
