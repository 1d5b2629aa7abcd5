import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PRIVACY,
  PRIVACY_MODES,
  SEE_ALL,
  SEE_NOTHING,
  decideVisibility,
  type PrivacyMode,
  type Relation,
  type Visibility,
} from '../../presence/index.js';

const STATUS_ONLY: Visibility = { status: true, lastSeen: false };

function relation(privacy: PrivacyMode, listsViewer = false, blocksViewer = false): Relation {
  return { privacy, listsViewer, blocksViewer };
}

describe('privacy defaults', () => {
  it('should give a new user the CONTACTS mode', () => {
    expect(DEFAULT_PRIVACY).toBe('CONTACTS');
  });

  it('should name the three modes of the GraphQL contract', () => {
    expect(PRIVACY_MODES).toEqual(['EVERYONE', 'CONTACTS', 'NOBODY']);
  });

  it('should spell out seeing everything and seeing nothing', () => {
    expect({ SEE_ALL, SEE_NOTHING }).toEqual({ SEE_ALL: { status: true, lastSeen: true }, SEE_NOTHING: { status: false, lastSeen: false } });
  });
});

describe('decideVisibility', () => {
  it.each([
    ['a user looking at themself', 'alice', 'EVERYONE', relation('EVERYONE'), SEE_ALL],
    ['a user looking at themself in NOBODY', 'alice', 'NOBODY', relation('NOBODY'), SEE_ALL],
    ['a user looking at themself while the graph is down', 'alice', undefined, undefined, SEE_ALL],
  ] satisfies [string, string, PrivacyMode | undefined, Relation | undefined, Visibility][])(
    'should show everything to %s',
    (_name, viewer, viewerPrivacy, rel, expected) => {
      expect(decideVisibility(viewer, 'alice', viewerPrivacy, rel)).toEqual(expected);
    },
  );

  it.each([
    ['EVERYONE, to a stranger', 'EVERYONE', relation('EVERYONE'), SEE_ALL],
    ['EVERYONE, to a contact', 'EVERYONE', relation('EVERYONE', true), SEE_ALL],
    ['CONTACTS, to a listed contact', 'EVERYONE', relation('CONTACTS', true), SEE_ALL],
    ['CONTACTS, to someone not listed', 'EVERYONE', relation('CONTACTS', false), SEE_NOTHING],
    ['NOBODY, to a stranger', 'EVERYONE', relation('NOBODY'), SEE_NOTHING],
    ['NOBODY, to a listed contact', 'EVERYONE', relation('NOBODY', true), SEE_NOTHING],
    ['EVERYONE, to a blocked viewer', 'EVERYONE', relation('EVERYONE', false, true), SEE_NOTHING],
    ['CONTACTS, to a blocked listed contact', 'EVERYONE', relation('CONTACTS', true, true), SEE_NOTHING],
    ['NOBODY, to a blocked viewer', 'EVERYONE', relation('NOBODY', false, true), SEE_NOTHING],
    ['an unknown relation (graph down)', 'EVERYONE', undefined, SEE_NOTHING],
    ['an unknown relation, to a viewer whose privacy is unknown too', undefined, undefined, SEE_NOTHING],
    ['EVERYONE, to a viewer in CONTACTS', 'CONTACTS', relation('EVERYONE'), SEE_ALL],
    ['EVERYONE, to a viewer in NOBODY (reciprocity)', 'NOBODY', relation('EVERYONE'), STATUS_ONLY],
    ['CONTACTS, to a listed viewer in NOBODY (reciprocity)', 'NOBODY', relation('CONTACTS', true), STATUS_ONLY],
    ['CONTACTS, to a viewer in NOBODY who is not listed', 'NOBODY', relation('CONTACTS', false), SEE_NOTHING],
    ['EVERYONE, to a viewer whose own privacy cannot be read', undefined, relation('EVERYONE'), STATUS_ONLY],
    ['CONTACTS, to a listed viewer whose own privacy cannot be read', undefined, relation('CONTACTS', true), STATUS_ONLY],
  ] satisfies [string, PrivacyMode | undefined, Relation | undefined, Visibility][])(
    'should decide a target in %s',
    (_name, viewerPrivacy, rel, expected) => {
      expect(decideVisibility('bob', 'alice', viewerPrivacy, rel)).toEqual(expected);
    },
  );

  it('should hide a blocked viewer whatever the mode and contact edge', () => {
    const decisions = PRIVACY_MODES.flatMap((mode) =>
      [true, false].map((listsViewer) => decideVisibility('bob', 'alice', 'EVERYONE', relation(mode, listsViewer, true))),
    );
    expect(decisions).toEqual(Array.from({ length: 6 }, () => SEE_NOTHING));
  });
});
