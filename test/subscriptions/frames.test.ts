/**
 * Compiled `next` frames (subscriptions/frames.ts) against the real thing: for random selection sets —
 * aliases, repeated fields, inline and named fragments, @include/@skip from literals and variables — and
 * random batches, the frame equals what graphql-js execution of the schema plus graphql-ws'
 * `{ id, type: 'next', payload }` serialization sends, byte for byte.
 */
import fc from 'fast-check';
import { execute, getOperationAST, Kind, parse, validate, type FieldNode, type FragmentDefinitionNode, type GraphQLResolveInfo } from 'graphql';
import { describe, expect, it } from 'vitest';
import { PLATFORMS, PRESENCE_STATUSES, type PresenceView } from '../../presence/index.js';
import { schema } from '../../schema/index.js';
import { compileFrames } from '../../subscriptions/frames.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

/** What compileFrames reads of a resolve info, taken from a parsed subscription document. */
function infoOf(source: string, variables: Record<string, unknown>): GraphQLResolveInfo {
  const document = parse(source);
  const operation = getOperationAST(document)!;
  const root = operation.selectionSet.selections.filter((s): s is FieldNode => s.kind === Kind.FIELD);
  const key = root[0]!.alias?.value ?? root[0]!.name.value;
  const fragments = Object.fromEntries(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]));
  return {
    operation,
    fieldNodes: root.filter((f) => (f.alias?.value ?? f.name.value) === key),
    fragments,
    variableValues: variables,
    path: { key, prev: undefined, typename: 'Subscription' },
  } as unknown as GraphQLResolveInfo;
}

/** The frame graphql-js + graphql-ws would send for this event. */
async function standardFrame(source: string, variables: Record<string, unknown>, batch: { snapshot: boolean; presences: PresenceView[] }): Promise<string> {
  const result = await execute({ schema, document: parse(source), rootValue: batch, variableValues: variables, contextValue: { app: { service: { clock: () => NOW } } } });
  expect(result.errors).toBeUndefined();
  return JSON.stringify({ id: 'op-1', type: 'next', payload: { ...result } });
}

const viewArb: fc.Arbitrary<PresenceView> = fc.record({
  userId: fc.stringMatching(/^[\w.:@-]{1,12}$/),
  status: fc.constantFrom(...PRESENCE_STATUSES),
  lastSeen: fc.option(fc.integer({ min: 0, max: 60 * 24 * 400 }).map((m) => NOW - m * 60_000), { nil: null }),
  platforms: fc.subarray([...PLATFORMS]),
  version: fc.nat(10_000),
});

/** A field or fragment of a selection set, as text, from names of its type and a sub-selection maker. */
function selectionArb(typeName: string, fields: readonly string[], sub: Record<string, fc.Arbitrary<string>>, depth = 0): fc.Arbitrary<string> {
  const field = fc
    .record({
      name: fc.constantFrom(...fields),
      alias: fc.option(fc.constantFrom('1', '2'), { freq: 3 }),
      directive: fc.option(fc.constantFrom('@include(if: true)', '@skip(if: false)', '@include(if: false)', '@skip(if: true)', '@include(if: $on)', '@skip(if: $on)'), { freq: 4 }),
    })
    .chain(({ name, alias, directive }) =>
      (sub[name] ?? fc.constant('')).map((inner) => `${alias ? `${name.replace('__', '')}${alias}: ` : ''}${name}${directive ? ` ${directive}` : ''}${inner ? ` { ${inner} }` : ''}`),
    );
  const set = fc.array(depth < 2 ? fc.oneof({ weight: 6, arbitrary: field }, { weight: 1, arbitrary: fc.constant('') }) : field, { minLength: 1, maxLength: 5 });
  if (depth >= 2) return set.map((parts) => parts.filter(Boolean).join(' ') || fields[0]!);
  return fc.oneof(
    { weight: 4, arbitrary: set.map((parts) => parts.filter(Boolean).join(' ') || fields[0]!) },
    { weight: 1, arbitrary: fc.tuple(set, selectionArb(typeName, fields, sub, depth + 1)).map(([parts, inner]) => `${parts.filter(Boolean).join(' ') || fields[0]!} ... on ${typeName} { ${inner} }`) },
    { weight: 1, arbitrary: fc.tuple(set, selectionArb(typeName, fields, sub, depth + 1)).map(([parts, inner]) => `${parts.filter(Boolean).join(' ') || fields[0]!} ... @include(if: $on) { ${inner} }`) },
  );
}

const lastSeenSel = selectionArb('LastSeen', ['at', 'ago', 'bucketSeconds', '__typename'], {});
const presenceSel = selectionArb('Presence', ['userId', 'status', 'lastSeen', 'platforms', 'version', '__typename'], { lastSeen: lastSeenSel });
const batchSel = selectionArb('PresenceBatch', ['snapshot', 'presences', '__typename'], { presences: presenceSel });

describe('compiled presence frames', () => {
  it('should write exactly the frames graphql-js execution and graphql-ws would send, for random selections and batches', async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(
        batchSel,
        fc.option(presenceSel, { nil: undefined }),
        fc.constantFrom('presence', 'p: presence'),
        fc.boolean(),
        fc.boolean(),
        fc.array(viewArb, { maxLength: 6 }),
        async (selection, fragmentBody, root, on, snapshot, presences) => {
          const body = fragmentBody ? selection.replace(/presences( @[^{]*)? \{/, (m) => `${m} ...P `) : selection;
          const fragment = fragmentBody && body !== selection ? `\nfragment P on Presence { ${fragmentBody} }` : '';
          const uses = (body + fragment).includes('$on') ? ', $on: Boolean!' : '';
          const source = `subscription ($ids: [ID!]!${uses}) { ${root}(viewport: $ids) { ${body} } }${fragment}`;
          // Random fields under one key may not merge (e.g. `a: status a: version`): not a valid document.
          const invalid = validate(schema, parse(source));
          if (invalid.length > 0) {
            if (process.env.SHOW_INVALID) console.log(invalid[0]!.message, '\n   ', source);
            return;
          }
          const variables = { ids: ['x'], on };
          const writer = compileFrames(infoOf(source, variables));
          expect(writer, source).not.toBeNull();
          const batch = { snapshot, presences };
          expect(writer!.frame('op-1', snapshot, presences, NOW), source).toBe(await standardFrame(source, variables, batch));
          // Served again from the shared texts: still the same bytes.
          expect(writer!.frame('op-1', snapshot, presences, NOW)).toBe(await standardFrame(source, variables, batch));
          checked++;
        },
      ),
      { numRuns: Number(process.env.FRAMES_RUNS ?? 400) },
    );
    expect(checked).toBeGreaterThan(150);
  });

  it('should move the ago line with time even for a presence already serialized', async () => {
    const source = 'subscription ($ids: [ID!]!) { presence(viewport: $ids) { presences { lastSeen { ago } } } }';
    const writer = compileFrames(infoOf(source, { ids: ['x'] }))!;
    const view: PresenceView = { userId: 'u', status: 'OFFLINE', lastSeen: NOW - 60_000, platforms: [], version: 3 };
    expect(writer.frame('1', false, [view], NOW)).toContain('"ago":"just now"');
    expect(writer.frame('1', false, [view], NOW + 60_000)).toContain('"ago":"2 min ago"');
  });

  it('should share one writer between subscriptions of one document, whatever their viewports, and not across directive values', () => {
    const source = 'subscription ($ids: [ID!]!, $on: Boolean!) { presence(viewport: $ids) { snapshot @include(if: $on) presences { userId } } }';
    const base = infoOf(source, { ids: ['a'], on: true });
    const sameDocument = (variables: Record<string, unknown>) => ({ ...base, variableValues: variables }) as GraphQLResolveInfo;
    const first = compileFrames(sameDocument({ ids: ['a'], on: true }));
    expect(compileFrames(sameDocument({ ids: ['b', 'c'], on: true }))).toBe(first);
    const off = compileFrames(sameDocument({ ids: ['a'], on: false }));
    expect(off).not.toBe(first);
    expect(compileFrames(sameDocument({ ids: ['d'], on: false }))).toBe(off);
    expect(off!.frame('1', true, [], NOW)).toBe('{"id":"1","type":"next","payload":{"data":{"presence":{"presences":[]}}}}');
  });

  it.each([
    ['another directive', 'subscription ($ids: [ID!]!) { presence(viewport: $ids) { snapshot @deprecated } }'],
    ['a directive whose condition is not a boolean', 'subscription ($ids: [ID!]!, $on: Boolean) { presence(viewport: $ids) { snapshot @include(if: $on) } }'],
  ])('should decline %s, leaving the subscription to graphql-js execution', (_why, source) => {
    expect(compileFrames(infoOf(source, { ids: ['x'] }))).toBeNull();
  });
});
