import type { PresenceView, UserId } from '../presence/index.js';
import type { EdgeChange } from '../service/privacy.js';
import { call, mutator } from './call.js';
import type { RequestContext } from './context.js';
import { ErrorCode, fail } from './errors.js';
import { requireViewer, userIdArg } from './validate.js';

export interface ContactValue {
  readonly userId: UserId;
  readonly presence: PresenceView;
}

export interface ContactConnectionValue {
  readonly edges: readonly { readonly cursor: string; readonly node: ContactValue }[];
  readonly hasNextPage: boolean;
}

const CURSOR_PREFIX = 'contact:';

export function encodeCursor(userId: UserId): string {
  return Buffer.from(CURSOR_PREFIX + userId).toString('base64url');
}

function decodeCursor(cursor: string): UserId {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!raw.startsWith(CURSOR_PREFIX)) throw fail(ErrorCode.BAD_USER_INPUT, 'after must be an endCursor returned by contacts', { argument: 'after' });
  return userIdArg(raw.slice(CURSOR_PREFIX.length), 'after');
}

export async function contactsField(ctx: RequestContext, first: number | null | undefined, after: string | null | undefined): Promise<ContactConnectionValue> {
  const viewer = requireViewer(ctx);
  const max = ctx.api.limits.contactsPage;
  const size = first ?? 50;
  if (!Number.isInteger(size) || size < 1 || size > max) {
    throw fail(ErrorCode.BAD_USER_INPUT, `first must be between 1 and ${max}, got ${size}`, { argument: 'first', limit: max });
  }
  const page = await call(() => ctx.api.privacy.contacts(viewer, size, after ? decodeCursor(after) : null));
  const views = await ctx.reads.views(page.ids);
  return {
    edges: page.ids.map((id, i) => ({ cursor: encodeCursor(id), node: { userId: id, presence: views[i]! } })),
    hasNextPage: page.hasNextPage,
  };
}

/** Adds or removes one of the viewer's edges; true when it changed, false when it already was so. */
export async function edgeField(ctx: RequestContext, change: EdgeChange, userId: unknown): Promise<boolean> {
  const viewer = await mutator(ctx);
  const other = userIdArg(userId, 'userId');
  if (other === viewer) throw fail(ErrorCode.BAD_USER_INPUT, `you cannot ${change} yourself`, { argument: 'userId' });
  return call(() => ctx.api.privacy.changeEdge(change, viewer, other));
}
