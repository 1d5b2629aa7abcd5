/**
 * `presence(viewport:)` events serialized once, not executed per subscription: a subscription's
 * selection set compiled into a writer of whole graphql-transport-ws `next` frames, byte for byte what
 * graphql-js execution plus graphql-ws would send (test/subscriptions/frames.test.ts holds it to that
 * over random selection sets).
 *
 * A presence is serialized once per (selection, view) and the text shared by every subscription with
 * that selection that is shown that view: views are shared objects (one per record and visibility,
 * subscriptions/relay.ts), so a change of one user seen by a thousand watchers costs one serialization
 * per distinct selection, and each frame is then a concatenation.
 *
 * What compiles: the fields of PresenceBatch, Presence and LastSeen with aliases, `__typename`,
 * fragments (inline or named) on those types, and `@include` / `@skip` — all a client of this schema can
 * ask of it. Anything else (another directive, say) returns null, and the subscription runs through
 * graphql-js execution as before.
 */
import { Kind, type FragmentDefinitionNode, type GraphQLResolveInfo, type SelectionSetNode, type ValueNode } from 'graphql';
import { agoLine, BUCKET_SECONDS, type PresenceView } from '../presence/index.js';

type PresenceField = 'userId' | 'status' | 'lastSeen' | 'platforms' | 'version' | '__typename';
type LastSeenField = 'at' | 'ago' | 'bucketSeconds' | '__typename';

interface Entry<F> {
  /** `"responseKey":` */
  readonly head: string;
  readonly field: F;
}

interface PresenceEntry extends Entry<PresenceField> {
  readonly lastSeen?: readonly Entry<LastSeenField>[];
}

/** The selection of one `presences` field: its serialized texts are cached under `id`. */
interface PresenceSelection {
  readonly id: number;
  readonly entries: readonly PresenceEntry[];
  /** Whether it asks for `lastSeen { ago }`, the one text that moves with time. */
  readonly readsAgo: boolean;
}

interface BatchEntry extends Entry<'snapshot' | 'presences' | '__typename'> {
  readonly presence?: PresenceSelection;
}

/** Writes the `next` frames of one subscription. */
export interface FrameWriter {
  frame(operationId: string, snapshot: boolean, presences: readonly PresenceView[], now: number): string;
}

/** Numbers every compiled `presences` selection: the key of its cached texts. */
let compiled = 0;

/**
 * Writers compiled per operation (yoga parses a document once, so every subscription sending the same
 * query shares its AST), keyed by the values of the variables their directives read — never by the
 * viewport: subscriptions with the same document share one writer, and so the serialized texts.
 */
const writers = new WeakMap<object, { readonly reads: readonly string[]; readonly byValues: Map<string, FrameWriter | null> }>();

/**
 * The frame writer for the `presence` field being resolved (its `info`), or null when the selection
 * uses something this does not reproduce.
 */
export function compileFrames(info: GraphQLResolveInfo): FrameWriter | null {
  const known = writers.get(info.operation);
  const keyOf = (names: readonly string[]) => `${String(info.path.key)}|${JSON.stringify(names.map((n) => info.variableValues[n]))}`;
  if (known) {
    const key = keyOf(known.reads);
    if (known.byValues.has(key)) return known.byValues.get(key)!;
  }
  const reads = new Set<string>();
  const writer = compile(info, reads);
  const entry = known ?? { reads: [...reads], byValues: new Map<string, FrameWriter | null>() };
  if (!known) writers.set(info.operation, entry);
  // A document whose directives read other variables under other values may read others still: keep
  // the first set of names; a differing compile is simply not shared.
  if (sameNames(entry.reads, reads)) entry.byValues.set(keyOf(entry.reads), writer);
  return writer;
}

function sameNames(a: readonly string[], b: ReadonlySet<string>): boolean {
  return a.length === b.size && a.every((n) => b.has(n));
}

function compile(info: GraphQLResolveInfo, reads: Set<string>): FrameWriter | null {
  const variables = new Proxy(info.variableValues, {
    get(target, name: string) {
      reads.add(name);
      return target[name];
    },
  });
  const fragments = info.fragments;
  const batch: BatchEntry[] = [];
  // The field may be selected by several nodes under one response key: their selections merge.
  const selections = info.fieldNodes.flatMap((node) => node.selectionSet?.selections ?? []);
  try {
    collect({ kind: Kind.SELECTION_SET, selections }, 'PresenceBatch', fragments, variables, batch, (field, set) => {
      if (field === 'presences') {
        const entries = presenceEntries(set!, fragments, variables);
        return { presence: { id: ++compiled, entries, readsAgo: entries.some((e) => e.lastSeen?.some((l) => l.field === 'ago')) } };
      }
      if (field === 'snapshot' || field === '__typename') return {};
      throw new Unsupported();
    });
  } catch (error) {
    if (error instanceof Unsupported) return null;
    throw error;
  }
  const head = `,"type":"next","payload":{"data":{${JSON.stringify(info.path.key)}:`;
  return {
    frame(operationId, snapshot, presences, now) {
      let out = `{"id":${JSON.stringify(operationId)}${head}{`;
      for (let i = 0; i < batch.length; i++) {
        const entry = batch[i]!;
        if (i > 0) out += ',';
        out += entry.head;
        if (entry.field === 'snapshot') out += snapshot ? 'true' : 'false';
        else if (entry.field === '__typename') out += '"PresenceBatch"';
        else {
          out += '[';
          for (let k = 0; k < presences.length; k++) out += (k > 0 ? ',' : '') + serialized(presences[k]!, entry.presence!, now);
          out += ']';
        }
      }
      return `${out}}}}}`;
    },
  };
}

function presenceEntries(set: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>, variables: Record<string, unknown>): PresenceEntry[] {
  const entries: PresenceEntry[] = [];
  collect(set, 'Presence', fragments, variables, entries, (field, sub) => {
    if (field === 'lastSeen') {
      const lastSeen: Entry<LastSeenField>[] = [];
      collect(sub!, 'LastSeen', fragments, variables, lastSeen, (f) => {
        if (f === 'at' || f === 'ago' || f === 'bucketSeconds' || f === '__typename') return {};
        throw new Unsupported();
      });
      return { lastSeen };
    }
    if (field === 'userId' || field === 'status' || field === 'platforms' || field === 'version' || field === '__typename') return {};
    throw new Unsupported();
  });
  return entries;
}

class Unsupported extends Error {}

/**
 * graphql-js' CollectFields for one concrete type: fields in order of first appearance by response key,
 * those under the same key merged (their sub-selections together), fragments flattened, @skip/@include
 * applied. `extra` builds what an entry needs from its field name and (merged) sub-selection.
 */
function collect<E extends Entry<string>>(
  set: SelectionSetNode,
  typeName: string,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
  into: E[],
  extra: (field: string, set: SelectionSetNode | undefined) => Omit<E, 'head' | 'field'>,
): void {
  // Merge by response key first (sub-selections of a repeated key are concatenated), then build.
  const order: string[] = [];
  const byKey = new Map<string, { field: string; sets: SelectionSetNode[] }>();
  // As graphql-js: a fragment is visited once per collection, wherever else it is spread.
  const visited = new Set<string>();
  const visit = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (!included(selection.directives, variables)) continue;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        if (selection.arguments?.length) throw new Unsupported();
        let merged = byKey.get(key);
        if (!merged) {
          merged = { field: selection.name.value, sets: [] };
          byKey.set(key, merged);
          order.push(key);
        }
        if (selection.selectionSet) merged.sets.push(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const on = selection.typeCondition?.name.value;
        if (on !== undefined && on !== typeName) continue;
        visit(selection.selectionSet);
      } else {
        const name = selection.name.value;
        if (visited.has(name)) continue;
        visited.add(name);
        const fragment = fragments[name];
        if (!fragment || fragment.typeCondition.name.value !== typeName) continue;
        visit(fragment.selectionSet);
      }
    }
  };
  visit(set);
  for (const key of order) {
    const { field, sets } = byKey.get(key)!;
    const sub: SelectionSetNode | undefined = sets.length === 0 ? undefined : { kind: Kind.SELECTION_SET, selections: sets.flatMap((s) => s.selections) };
    into.push({ head: `${JSON.stringify(key)}:`, field, ...extra(field, sub) } as E);
  }
}

function included(directives: readonly { name: { value: string }; arguments?: readonly { name: { value: string }; value: ValueNode }[] }[] | undefined, variables: Record<string, unknown>): boolean {
  for (const directive of directives ?? []) {
    const name = directive.name.value;
    if (name !== 'skip' && name !== 'include') throw new Unsupported();
    const arg = directive.arguments?.find((a) => a.name.value === 'if');
    if (!arg) throw new Unsupported();
    const value = arg.value.kind === Kind.BOOLEAN ? arg.value.value : arg.value.kind === Kind.VARIABLE ? variables[arg.value.name.value] : undefined;
    if (typeof value !== 'boolean') throw new Unsupported();
    if ((name === 'skip') === value) return false;
  }
  return true;
}

/** Serialized presences per view, per selection; the `ago` line they were made with (it moves with time; null when not asked). */
const texts = new WeakMap<PresenceView, Map<number, { readonly ago: string | null; readonly json: string }>>();

function serialized(view: PresenceView, selection: PresenceSelection, now: number): string {
  // Only a selection that shows `ago` depends on the time: every other text is made once per view.
  const ago = selection.readsAgo && view.lastSeen !== null ? agoLine(view.lastSeen, now) : null;
  let bySelection = texts.get(view);
  const held = bySelection?.get(selection.id);
  if (held && held.ago === ago) return held.json;
  const json = presenceJson(view, selection.entries, ago);
  if (!bySelection) texts.set(view, (bySelection = new Map()));
  bySelection.set(selection.id, { ago, json });
  return json;
}

function presenceJson(view: PresenceView, entries: readonly PresenceEntry[], ago: string | null): string {
  let out = '{';
  entries.forEach((entry, i) => {
    if (i > 0) out += ',';
    out += entry.head;
    switch (entry.field) {
      case 'userId':
        out += JSON.stringify(view.userId);
        break;
      case 'status':
        out += `"${view.status}"`;
        break;
      case 'platforms':
        out += JSON.stringify(view.platforms);
        break;
      case 'version':
        out += String(view.version);
        break;
      case '__typename':
        out += '"Presence"';
        break;
      case 'lastSeen':
        out += view.lastSeen === null ? 'null' : lastSeenJson(view.lastSeen, ago, entry.lastSeen!);
        break;
    }
  });
  return `${out}}`;
}

function lastSeenJson(bucket: number, ago: string | null, entries: readonly Entry<LastSeenField>[]): string {
  let out = '{';
  entries.forEach((entry, i) => {
    if (i > 0) out += ',';
    out += entry.head;
    if (entry.field === 'at') out += JSON.stringify(new Date(bucket));
    else if (entry.field === 'ago') out += JSON.stringify(ago);
    else if (entry.field === 'bucketSeconds') out += String(BUCKET_SECONDS);
    else out += '"LastSeen"';
  });
  return `${out}}`;
}
