/**
 * Compiled `next` frames (subscriptions/frames.ts) against the real thing: for every field the schema
 * lets a client select under a presence batch, and for random selection sets — aliases, repeated fields,
 * inline and named fragments, @include/@skip from literals and variables — over random batches, the frame
 * equals what graphql-js execution of the schema plus graphql-ws' `{ id, type: 'next', payload }`
 * serialization sends, byte for byte. The field lists are read off the schema, never written here: a
 * field added to `Presence` or `LastSeen` is covered, and fails here if it would not take the fast path.
 */
import fc from 'fast-check';
import {
  execute,
  extendSchema,
  getNamedType,
  getOperationAST,
  isObjectType,
  Kind,
  parse,
  validate,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { PLATFORMS, PRESENCE_STATUSES, type PresenceView } from '../../presence/index.js';
import { schema } from '../../schema/index.js';
import { compileFrames } from '../../subscriptions/frames.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

const presenceField = schema.getSubscriptionType()!.getFields().presence!;

/** What compileFrames reads of a resolve info, taken from a parsed subscription document. */
function infoOf(source: string, variables: Record<string, unknown>): GraphQLResolveInfo {
  const document = parse(source);
  const operation = getOperationAST(document)!;
  const root = operation.selectionSet.selections.filter((s): s is FieldNode => s.kind === Kind.FIELD);
  const key = root[0]!.alias?.value ?? root[0]!.name.value;
  const fragments = Object.fromEntries(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]));
  return {
    schema,
    operation,
    fieldName: 'presence',
    returnType: presenceField.type,
    fieldNodes: root.filter((f) => (f.alias?.value ?? f.name.value) === key),
    fragments,
    variableValues: variables,
    path: { key, prev: undefined, typename: 'Subscription' },
  } as unknown as GraphQLResolveInfo;
}

/** The frame graphql-js + graphql-ws would send for this event; the resolvers get the clock alone, as the frames do. */
async function standardFrame(source: string, variables: Record<string, unknown>, batch: { snapshot: boolean; presences: PresenceView[] }): Promise<string> {
  const result = await execute({ schema, document: parse(source), rootValue: batch, variableValues: variables, contextValue: { api: { clock: () => NOW } } });
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

/** The object types a client can reach under the subscription field, each with its selectable fields. */
const batchType = getNamedType(presenceField.type) as GraphQLObjectType;

function objectFieldsOf(type: GraphQLObjectType): Map<string, GraphQLObjectType> {
  const out = new Map<string, GraphQLObjectType>();
  for (const [name, field] of Object.entries(type.getFields())) {
    const named = getNamedType(field.type);
    if (isObjectType(named)) out.set(name, named);
  }
  return out;
}

/** A field or fragment of a selection set, as text, from the schema's fields of `type`. */
function selectionArb(type: GraphQLObjectType, depth = 0): fc.Arbitrary<string> {
  const fields = [...Object.keys(type.getFields()), '__typename'];
  const objects = objectFieldsOf(type);
  const sub = Object.fromEntries([...objects].map(([name, object]) => [name, selectionArb(object)]));
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
  const joined = set.map((parts) => parts.filter(Boolean).join(' ') || '__typename');
  if (depth >= 2) return joined;
  return fc.oneof(
    { weight: 4, arbitrary: joined },
    { weight: 1, arbitrary: fc.tuple(joined, selectionArb(type, depth + 1)).map(([parts, inner]) => `${parts} ... on ${type.name} { ${inner} }`) },
    { weight: 1, arbitrary: fc.tuple(joined, selectionArb(type, depth + 1)).map(([parts, inner]) => `${parts} ... @include(if: $on) { ${inner} }`) },
  );
}

/**
 * Every field a client can select under the subscription field, as the document selecting it alone
 * (object fields with `__typename` under them): [type.field, document].
 */
function everyField(): [string, string][] {
  const out: [string, string][] = [];
  const walk = (type: GraphQLObjectType, wrap: (inner: string) => string, seen: Set<string>) => {
    if (seen.has(type.name)) return;
    const next = new Set(seen).add(type.name);
    for (const [name, field] of Object.entries(type.getFields())) {
      const named = getNamedType(field.type);
      out.push([`${type.name}.${name}`, wrap(isObjectType(named) ? `${name} { __typename }` : name)]);
      if (isObjectType(named)) walk(named, (inner) => wrap(`${name} { ${inner} }`), next);
    }
  };
  walk(batchType, (inner) => `subscription ($ids: [ID!]!) { presence(viewport: $ids) { ${inner} } }`, new Set());
  return out;
}

/** Batches that give every field a value: each status, with and without a last-seen and platforms. */
const SAMPLE = {
  snapshot: true,
  presences: PRESENCE_STATUSES.map((status, i): PresenceView => ({ userId: `u${i}`, status, lastSeen: i % 2 ? NOW - i * 3_600_000 : null, platforms: PLATFORMS.slice(0, i % 4), version: i })),
};

describe('compiled presence frames', () => {
  it.each(everyField())('should take the fast path for %s and write what graphql-js would', async (_field, source) => {
    const writer = compileFrames(infoOf(source, { ids: ['x'] }));
    expect(writer, `${source} fell back to graphql-js execution`).not.toBeNull();
    expect(writer!.frame('op-1', SAMPLE, NOW)).toBe(await standardFrame(source, { ids: ['x'] }, SAMPLE));
  });

  it('should know every field the schema lets a client select under a batch', () => {
    // The walk above is what keeps this suite honest: it must reach the types the frames serialize.
    expect(new Set(everyField().map(([field]) => field.split('.')[0]))).toEqual(new Set(['PresenceBatch', 'Presence', 'LastSeen']));
  });

  it('should write exactly the frames graphql-js execution and graphql-ws would send, for random selections and batches', async () => {
    let checked = 0;
    const presenceType = objectFieldsOf(batchType).get('presences')!;
    await fc.assert(
      fc.asyncProperty(
        selectionArb(batchType),
        fc.option(selectionArb(presenceType), { nil: undefined }),
        fc.constantFrom('presence', 'p: presence'),
        fc.boolean(),
        fc.boolean(),
        fc.array(viewArb, { maxLength: 6 }),
        async (selection, fragmentBody, root, on, snapshot, presences) => {
          const body = fragmentBody ? selection.replace(/presences( @[^{]*)? \{/, (m) => `${m} ...P `) : selection;
          const fragment = fragmentBody && body !== selection ? `\nfragment P on ${presenceType.name} { ${fragmentBody} }` : '';
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
          expect(writer!.frame('op-1', batch, NOW), source).toBe(await standardFrame(source, variables, batch));
          // Served again from the shared texts: still the same bytes.
          expect(writer!.frame('op-1', batch, NOW)).toBe(await standardFrame(source, variables, batch));
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
    expect(writer.frame('1', { snapshot: false, presences: [view] }, NOW)).toContain('"ago":"just now"');
    expect(writer.frame('1', { snapshot: false, presences: [view] }, NOW + 60_000)).toContain('"ago":"2 min ago"');
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
    expect(off!.frame('1', { snapshot: true, presences: [] }, NOW)).toBe('{"id":"1","type":"next","payload":{"data":{"presence":{"presences":[]}}}}');
  });

  it('should decline a field with arguments, and refuse one that resolves asynchronously, so the suite above fails for either', () => {
    const extended = extendSchema(schema, parse('extend type Presence { note(style: String): String  later: String }'));
    (extended.getType('Presence') as GraphQLObjectType).getFields().later!.resolve = async () => 'soon';
    const on = (source: string): GraphQLResolveInfo => ({ ...infoOf(source, { ids: ['x'] }), returnType: extended.getSubscriptionType()!.getFields().presence!.type });
    expect(compileFrames(on('subscription ($ids: [ID!]!) { presence(viewport: $ids) { presences { note } } }'))).toBeNull();
    const writer = compileFrames(on('subscription ($ids: [ID!]!) { presence(viewport: $ids) { presences { later } } }'))!;
    expect(() => writer.frame('1', SAMPLE, NOW)).toThrow('frames: later resolves asynchronously');
  });

  it.each([
    ['another directive', 'subscription ($ids: [ID!]!) { presence(viewport: $ids) { snapshot @deprecated } }'],
    ['a directive whose condition is not a boolean', 'subscription ($ids: [ID!]!, $on: Boolean) { presence(viewport: $ids) { snapshot @include(if: $on) } }'],
  ])('should decline %s, leaving the subscription to graphql-js execution', (_why, source) => {
    expect(compileFrames(infoOf(source, { ids: ['x'] }))).toBeNull();
  });
});
