/** `npm start`: one server process, configured by the environment (see server/config.ts). */
import { pino } from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { createServer } from './app.js';
import { DEMO_USERS, seedDemo } from './demo.js';
import { openStores } from './stores.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`presence-graph: cannot start — ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const log = pino({ level: config.logLevel });
  const stores = await openStores(config, log);
  if (config.demoSeed) await seedDemo(stores.graph);
  const server = await createServer({ config, stores, log, graphiqlUser: config.demoSeed ? 'alice' : undefined });
  const url = await server.listen(config.port);

  const lines = [
    `presence-graph is up`,
    `  GraphiQL    ${url}/graphql${config.graphiql ? '' : ' (disabled: GRAPHIQL=false)'}`,
    `  WebSocket   ${url.replace(/^http/, 'ws')}/graphql  (graphql-transport-ws; connectionParams: { authorization, deviceId, platform })`,
    `  health      ${url}/health   ${url}/ready   ${url}/metrics`,
    `  stores      hot=${stores.kinds.hot}  graph=${stores.kinds.graph}  lastSeen=${stores.kinds.lastSeen}` +
      (stores.kinds.hot === 'embedded' ? '   (set REDIS_URL, NEO4J_URI, DATABASE_URL for real ones)' : ''),
    `  dev token   npm run -s token -- <userId>   → use as "Authorization: Bearer <token>"`,
  ];
  if (config.demoSeed) {
    lines.push(`  demo users  ${DEMO_USERS.join(', ')}   (GraphiQL opens signed in as alice)`);
  }
  if (config.auth.kind === 'secret' && config.auth.dev) {
    lines.push(`  auth        JWT_SECRET unset: using the well-known dev secret — never expose this server`);
  }
  console.log(lines.join('\n'));

  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

await main();
