/**
 * The yoga instance: one envelop pipeline (auth, limits, masked errors) for HTTP, SSE and — through
 * `yoga.getEnveloped` in server/ws.ts — graphql-ws.
 */
import { useGraphQlJit } from '@envelop/graphql-jit';
import { EnvelopArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, Kind, NoSchemaIntrospectionCustomRule, OperationTypeNode, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { createContext, type Api, type RequestContext } from '../resolvers/context.js';
import { ErrorCode, fail } from '../resolvers/errors.js';
import { schema } from '../schema/index.js';
import type { PrivacyService } from '../service/privacy.js';
import type { FrameSocket } from '../subscriptions/frames.js';
import { AuthError, type Identity, type Verifier } from './auth.js';
import type { Config } from './config.js';
import { EXAMPLE_TABS } from './graphiql.js';

/** What graphql-ws hands to the context factory instead of an HTTP request: the socket's signed-in user and the operation's socket. */
export interface SocketContext {
  readonly identity: Identity;
  readonly frames: FrameSocket;
}

export type PresenceYoga = YogaServerInstance<Partial<SocketContext>, RequestContext>;

export interface YogaDeps {
  readonly api: Api;
  readonly config: Config;
  readonly verify: Verifier;
  readonly privacy: Pick<PrivacyService, 'register'>;
  /** Headers GraphiQL opens with (a dev token), if any. */
  readonly graphiqlHeaders: string | undefined;
}

export function createPresenceYoga({ api, config, verify, privacy, graphiqlHeaders }: YogaDeps): PresenceYoga {
  const tooComplex = (_ctx: unknown, error: GraphQLError) => {
    Object.assign(error.extensions, { code: ErrorCode.QUERY_TOO_COMPLEX, retryable: false, http: { status: 400 } });
  };
  const armor = new EnvelopArmor({
    maxDepth: { n: config.limits.maxDepth, onReject: [tooComplex] },
    maxAliases: { n: config.limits.maxAliases, onReject: [tooComplex] },
    maxTokens: { n: config.limits.maxTokens, onReject: [tooComplex] },
    maxDirectives: { n: 20, onReject: [tooComplex] },
    costLimit: { maxCost: 20_000, onReject: [tooComplex] },
    blockFieldSuggestion: { enabled: config.production },
  });

  return createYoga<Partial<SocketContext>, RequestContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: false,
    // The body limit is server/app.ts's (bodyRefusal), by Content-Length before yoga reads anything.
    // yoga's own pipes every body through a TransformStream to count it, and what that pipe allocates
    // per request outlives two scavenges: copied, promoted, left for a major GC.
    // `bench/yoga-body-limit.ts` shows it side by side.
    maxRequestBodySize: false,
    maskedErrors: { isDev: !config.production },
    graphiql: config.graphiql
      ? { title: 'presence-graph', defaultTabs: EXAMPLE_TABS, ...(graphiqlHeaders ? { headers: graphiqlHeaders } : {}), shouldPersistHeaders: true }
      : false,
    plugins: [
      ...armor.protect().plugins,
      // Queries and mutations run compiled (graphql-jit: one function and one serializer per document),
      // which spares a 500-presence read graphql-js' generic execution; subscriptions keep its executor.
      useGraphQlJit({}, { enableIf: (args) => operationOf(args.document, args.operationName)?.operation !== OperationTypeNode.SUBSCRIPTION }),
      requireViewer(),
      ...(config.graphiql ? [] : [noIntrospection()]),
    ],
    context: async (initial): Promise<RequestContext> => {
      if (initial.identity) return createContext(api, initial.identity, initial.frames);
      const header = initial.request?.headers.get('authorization');
      if (!header) return createContext(api, null);
      try {
        const identity = await verify(header);
        await privacy.register(identity.userId);
        return createContext(api, identity);
      } catch (error) {
        if (error instanceof AuthError) throw fail(ErrorCode.UNAUTHENTICATED, error.message, { reason: error.reason });
        throw error;
      }
    },
  });
}

function operationOf(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
}

function isIntrospectionOnly(document: DocumentNode, operationName: string | null | undefined): boolean {
  const operation = operationOf(document, operationName);
  if (!operation) return false;
  return operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && s.name.value.startsWith('__'));
}

/** Without a token only introspection runs (GraphiQL's docs); anything else is 401 UNAUTHENTICATED. */
function requireViewer(): Plugin<RequestContext> {
  const check = (contextValue: RequestContext, document: DocumentNode, operationName: string | null | undefined) => {
    if (!contextValue.viewer && !isIntrospectionOnly(document, operationName)) {
      throw fail(ErrorCode.UNAUTHENTICATED, 'authentication required: send "Authorization: Bearer <JWT>" (npm run -s token -- <userId> prints a dev token)', { reason: 'missing' });
    }
  };
  return {
    onExecute: ({ args }) => check(args.contextValue, args.document, args.operationName),
    onSubscribe: ({ args }) => check(args.contextValue, args.document, args.operationName),
  };
}

function noIntrospection(): Plugin {
  return {
    onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
  };
}
