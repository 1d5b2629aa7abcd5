/**
 * Who may see what. One function decides for every path (queries, subscription snapshots and each
 * later event), and it fails closed: whatever it cannot prove is denied.
 */
import type { PrivacyMode, UserId } from './types.js';

/** What the contact graph says about one (target, viewer) pair. */
export interface Relation {
  /** The target's privacy mode. */
  readonly privacy: PrivacyMode;
  /** `(target)-[:CONTACT]->(viewer)`: the target lists the viewer as a contact. */
  readonly listsViewer: boolean;
  /** `(target)-[:BLOCKED]->(viewer)`. */
  readonly blocksViewer: boolean;
}

export interface Visibility {
  readonly status: boolean;
  readonly lastSeen: boolean;
}

export const SEE_ALL: Visibility = Object.freeze({ status: true, lastSeen: true });
/** The status, not the last-seen (reciprocity: the viewer shows nobody theirs). */
export const SEE_STATUS: Visibility = Object.freeze({ status: true, lastSeen: false });
export const SEE_NOTHING: Visibility = Object.freeze({ status: false, lastSeen: false });

/**
 * @param viewerPrivacy the viewer's own mode, or undefined when it cannot be read (then no last-seen).
 * @param relation the target's relation to the viewer, or undefined when the graph cannot be read.
 */
export function decideVisibility(
  viewerId: UserId,
  targetId: UserId,
  viewerPrivacy: PrivacyMode | undefined,
  relation: Relation | undefined,
): Visibility {
  if (viewerId === targetId) return SEE_ALL;
  if (!relation || relation.blocksViewer) return SEE_NOTHING;
  if (relation.privacy === 'NOBODY') return SEE_NOTHING;
  if (relation.privacy === 'CONTACTS' && !relation.listsViewer) return SEE_NOTHING;
  // Reciprocity: a viewer who shows nobody their last-seen sees no one else's (status dots still show).
  // One of three shared constants: this runs for every viewer of every change.
  return viewerPrivacy !== undefined && viewerPrivacy !== 'NOBODY' ? SEE_ALL : SEE_STATUS;
}
