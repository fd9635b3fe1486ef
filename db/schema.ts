/** Table types for Kysely: the one description of the app database both dialects share. */
export interface SentEmailsTable {
  /** `<workflowId>/<step>`: one row per email that must go out at most once. */
  idempotency_key: string;
  message_id: string;
  recipient: string;
  template: string;
  sent_at: string;
}

export interface DatabaseSchema {
  sent_emails: SentEmailsTable;
}
