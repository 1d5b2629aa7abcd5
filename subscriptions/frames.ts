/**
 * `presence(viewport:)` events serialized once, not executed per subscription: a subscription's
 * selection set compiled into a writer of whole graphql-transport-ws `next` frames, byte for byte what
 * graphql-js execution plus graphql-ws would send (test/subscriptions/frames.test.ts holds it to that
 * for every field of the types involved, over random selection sets).
 *
 * What it compiles follows the schema itself: each selected field is resolved with the schema's own
 * resolver and serialized through its own type (scalars and enums by their `serialize`, lists and
 * objects field by field), so a field added to `Presence` or `LastSeen` takes this path with no change
 * here. What it declines — a field with arguments, an abstract type, a directive other than
 * `@include` / `@skip` — makes `compileFrames` return null, and the subscription runs through graphql-js
 * execution instead. The resolvers under a batch must be synchronous and depend on their parent and the
 * clock alone (`ctx.api.clock`): a view is already what its viewer may see.
 *
 * A presence is serialized once per (selection, view, minute) and the text shared by every subscription
 * with that selection that is shown that view: views are shared objects (one per record and visibility,
 * subscriptions/records.ts), so a change of one user seen by a thousand watchers costs one serialization
 * per distinct selection, and each frame is then a concatenation. Nothing the API shows is finer than a
 * minute (the `ago` line moves at minute boundaries), so a text made in a minute holds for all of it.
 */
import {
  Kind,
  getNullableType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { BUCKET_MS, type PresenceView } from '../presence/index.js';

/** Where a subscription's `next` frames go: one graphql-ws operation on one socket (server/ws.ts). */
export interface FrameSocket {
  /** The operation id the frames carry. */
  readonly operationId: string;
  /**
   * Writes one frame. A promise when the socket holds too much unsent (a slow consumer): it resolves once
   * the frame has gone out (or the socket is gone), and nothing more should be written before.
   */
  send(frame: string): Promise<void> | void;
}

/** A batch as the frames carry it: the value the `presence` subscription field resolves to. */
export interface FrameBatch {
  readonly snapshot: boolean;
  readonly presences: readonly PresenceView[];
}

/** Writes the `next` frames of one subscription. */
export interface FrameWriter {
  /** The whole frame of `batch` for operation `operationId`, as of `now` (epoch ms). */
  frame(operationId: string, batch: FrameBatch, now: number): string;
}

/** The type whose values are shared view objects: their texts are cached. */
const SHARED_TYPE = 'Presence';

/** The context the resolvers under a batch are called with: the clock alone. */
interface FrameContext {
  readonly api: { readonly clock: () => number };
}

/** A selection set compiled for one object type. */
interface Plan {
  readonly entries: readonly Entry[];
  /** Set for SHARED_TYPE: its texts are cached under it. */
  readonly cacheId: number | undefined;
}

interface Entry {
  /** `"responseKey":` */
  readonly head: string;
  /** The field's value, resolved and serialized, from its parent object. */
  readonly write: Write;
}

/** Writes a value (or, for an entry, its parent) as JSON text, at the frame's time. */
type Write = (value: unknown, context: Clocked) => string;

/** Numbers every compiled plan of SHARED_TYPE: the key of its cached texts. */
let compiled = 0;

/**
 * Writers compiled per operation (yoga parses a document once, so every subscription sending the same
 * query shares its AST), keyed by the values of the variables their directives read — never by the
 * viewport: subscriptions with the same document share one writer, and so the serialized texts.
 */
const writers = new WeakMap<object, { readonly reads: readonly string[]; readonly byValues: Map<string, FrameWriter | null> }>();

/**
 * The frame writer for the subscription field being resolved (its `info`), or null when its selection
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

class Unsupported extends Error {}

function compile(info: GraphQLResolveInfo, reads: Set<string>): FrameWriter | null {
  const variables = new Proxy(info.variableValues, {
    get(target, name: string) {
      reads.add(name);
      return target[name];
    },
  });
  const type = getNullableType(info.returnType);
  // The field may be selected by several nodes under one response key: their selections merge.
  const selections = info.fieldNodes.flatMap((node) => node.selectionSet?.selections ?? []);
  let plan: Plan;
  try {
    if (!isObjectType(type)) throw new Unsupported();
    plan = planOf({ kind: Kind.SELECTION_SET, selections }, type, info.fragments, variables);
  } catch (error) {
    if (error instanceof Unsupported) return null;
    throw error;
  }
  const head = `,"type":"next","payload":{"data":{${JSON.stringify(info.path.key)}:`;
  return {
    frame(operationId, batch, now) {
      // A frame is made in one synchronous go: the one clock of every frame is set to its time.
      FRAME.now = now;
      FRAME.minute = Math.floor(now / BUCKET_MS);
      return `{"id":${JSON.stringify(operationId)}${head}${objectJson(batch, plan, FRAME)}}}}`;
    },
  };
}

/** The context of the frame being made: the clock stands at the frame's `now`. */
interface Clocked extends FrameContext {
  now: number;
  minute: number;
}

const FRAME: Clocked = { now: 0, minute: 0, api: { clock: () => FRAME.now } };

/**
 * Compiles a selection set on `type`: every field checked against the schema, every sub-selection
 * compiled, and each field's resolution and serialization made one function, chosen here by its type,
 * not again for every value.
 */
function planOf(set: SelectionSetNode, type: GraphQLObjectType, fragments: Record<string, FragmentDefinitionNode>, variables: Record<string, unknown>): Plan {
  const fields = type.getFields();
  const entries = collect(set, type.name, fragments, variables).map(({ key, name, sub }): Entry => {
    const head = `${JSON.stringify(key)}:`;
    if (name === '__typename') {
      const text = JSON.stringify(type.name);
      return { head, write: () => text };
    }
    const field = fields[name] as GraphQLField<unknown, FrameContext> | undefined;
    if (!field || field.args.length > 0) throw new Unsupported();
    const named = namedObject(field.type);
    if (named === 'abstract') throw new Unsupported();
    const value = writerOf(field.type, named && sub ? planOf(sub, named, fragments, variables) : undefined, field.name);
    const resolved = resolverOf(field);
    return { head, write: (parent, context) => value(resolved(parent as object, context), context) };
  });
  return { entries, cacheId: type.name === SHARED_TYPE ? ++compiled : undefined };
}

/** How graphql-js completes a value of `type`: through non-nulls and lists, leaves serialized by their type, objects by `plan`. */
function writerOf(type: GraphQLOutputType, plan: Plan | undefined, fieldName: string): Write {
  if (isNonNullType(type)) {
    const inner = writerOf(type.ofType, plan, fieldName);
    return (value, context) => {
      if (value === null || value === undefined) throw new Error(`frames: ${fieldName} is non-null but resolved to ${String(value)}`);
      return inner(value, context);
    };
  }
  let write: Write;
  if (isListType(type)) {
    const item = writerOf(type.ofType, plan, fieldName);
    write = (value, context) => {
      const items = Array.isArray(value) ? value : [...(value as Iterable<unknown>)];
      let out = '[';
      for (let i = 0; i < items.length; i++) out += (i > 0 ? ',' : '') + item(items[i], context);
      return `${out}]`;
    };
  } else if (isLeafType(type)) write = (value) => JSON.stringify(type.serialize(value));
  else write = (value, context) => objectJson(value as object, plan!, context);
  return (value, context) => (value === null || value === undefined ? 'null' : write(value, context));
}

/** The schema's own resolver (or graphql-js' default: the property, called if a function), called synchronously. */
function resolverOf(field: GraphQLField<unknown, FrameContext>): (parent: object, context: Clocked) => unknown {
  const { resolve, name } = field;
  const read = resolve
    ? (parent: object, context: Clocked) => resolve(parent, {}, context, undefined as unknown as GraphQLResolveInfo)
    : (parent: object, context: Clocked) => {
        const value = (parent as Record<string, unknown>)[name];
        return typeof value === 'function' ? (value as (args: object, ctx: FrameContext) => unknown).call(parent, {}, context) : value;
      };
  return (parent, context) => {
    const value = read(parent, context);
    if (value instanceof Promise) throw new Error(`frames: ${name} resolves asynchronously; fields under a presence batch must resolve synchronously`);
    return value;
  };
}

/** The object type under lists and non-nulls, undefined for a leaf, 'abstract' for an interface or union. */
function namedObject(type: GraphQLOutputType): GraphQLObjectType | undefined | 'abstract' {
  let inner: GraphQLOutputType = type;
  while (isNonNullType(inner) || isListType(inner)) inner = inner.ofType;
  if (isObjectType(inner)) return inner;
  return isLeafType(inner) ? undefined : 'abstract';
}

/** Serialized texts per shared view, per plan: the minute they were made in, and the text. */
const texts = new WeakMap<object, Map<number, { readonly minute: number; readonly json: string }>>();

function objectJson(value: object, plan: Plan, context: Clocked): string {
  if (plan.cacheId === undefined) return writeObject(value, plan, context);
  let byPlan = texts.get(value);
  const held = byPlan?.get(plan.cacheId);
  if (held && held.minute === context.minute) return held.json;
  const json = writeObject(value, plan, context);
  if (!byPlan) texts.set(value, (byPlan = new Map()));
  byPlan.set(plan.cacheId, { minute: context.minute, json });
  return json;
}

function writeObject(value: object, plan: Plan, context: Clocked): string {
  let out = '{';
  const { entries } = plan;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    out += (i > 0 ? ',' : '') + entry.head + entry.write(value, context);
  }
  return `${out}}`;
}

/**
 * graphql-js' CollectFields for one concrete type: fields in order of first appearance by response key,
 * those under the same key merged (their sub-selections together), fragments flattened, @skip/@include
 * applied.
 */
function collect(
  set: SelectionSetNode,
  typeName: string,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
): { key: string; name: string; sub: SelectionSetNode | undefined }[] {
  const order: string[] = [];
  const byKey = new Map<string, { name: string; sets: SelectionSetNode[] }>();
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
          merged = { name: selection.name.value, sets: [] };
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
  return order.map((key) => {
    const { name, sets } = byKey.get(key)!;
    const sub: SelectionSetNode | undefined = sets.length === 0 ? undefined : { kind: Kind.SELECTION_SET, selections: sets.flatMap((s) => s.selections) };
    return { key, name, sub };
  });
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
