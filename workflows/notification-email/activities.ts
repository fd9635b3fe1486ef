import type { ActivityDeps } from '../../activities';
import { createEmailActivities } from '../../activities/email';

/**
 * One notification: the welcome email of a known user. The address and name come from the
 * `users` table, never from the request, so a client cannot make Conveyor mail arbitrary text to
 * arbitrary addresses; and only a user of the item's own tenant. The send is idempotent by the item's ID (sent_emails), so a batch retried
 * after a crash does not mail twice.
 */
export async function sendNotificationEmail(deps: ActivityDeps, item: { userId: string }, { itemId, tenantId }: { itemId: string; tenantId: string }) {
  const user = await deps.db.selectFrom('users').select(['email', 'name']).where('user_id', '=', item.userId).where('tenant_id', '=', tenantId).executeTakeFirst();
  // Retryable: the user may not be committed yet (e.g. its signup is still in flight).
  if (!user) throw new Error(`no user '${item.userId}'`);
  const { messageId } = await createEmailActivities(deps).sendEmail({ idempotencyKey: `notification-email/${itemId}`, to: user.email, template: 'welcome', name: user.name });
  return { messageId };
}
