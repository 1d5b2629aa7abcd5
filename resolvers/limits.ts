/** The API's limits: what one request, operation or socket may ask for. */
export interface Limits {
  /** Ids per `presences` call (Slack allows 500). */
  readonly presences: number;
  /** Ids per viewport subscription. */
  readonly viewport: number;
  /** Page size cap for `contacts`. */
  readonly contactsPage: number;
  /** Live subscriptions per WebSocket. */
  readonly operationsPerSocket: number;
  /** Mutations per user per minute (heartbeats included). */
  readonly mutationsPerMinute: number;
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxTokens: number;
  /** Bytes of one HTTP request body or one WebSocket message. */
  readonly maxBodyBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  presences: 500,
  viewport: 200,
  contactsPage: 100,
  operationsPerSocket: 20,
  mutationsPerMinute: 600,
  maxDepth: 8,
  maxAliases: 20,
  maxTokens: 4000,
  // The largest legal request (500 ids of 128 characters, 4000 tokens of query) is far below it.
  maxBodyBytes: 1024 * 1024,
};
