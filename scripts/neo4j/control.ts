/**
 * A real Neo4j Community on this machine, without Docker: `npm run neo4j:start` / `npm run neo4j:stop`.
 *
 * start: 1. resolve Neo4j's jars from Maven Central into `.neo4j/lib` (once; cached, keyed by the hash of
 *           `scripts/neo4j/pom.xml`), 2. launch `scripts/neo4j/Launcher.java` detached (pid in
 *           `.neo4j/neo4j.pid`, output in `.neo4j/launcher.log`, Neo4j's own log in
 *           `.neo4j/home/logs/debug.log`), 3. wait for the launcher's ready file, then for an authenticated
 *           `RETURN 1` over Bolt. Returns once that query answers; does nothing if it already does.
 * stop:  SIGTERM to the pid in the pid file, then waits until the process is gone (SIGKILL after 60 s).
 *
 * Environment: NEO4J_BOLT_PORT (7687), NEO4J_PASSWORD (presence-dev), NEO4J_JAVA_OPTS (-Xmx512m …),
 * NEO4J_START_TIMEOUT_MS (120000, JVM start only), NEO4J_RESOLVE_TIMEOUT_MS (900000, Maven),
 * JAVA_HOME (else `java` on PATH; Neo4j 5.26 needs Java 17 or 21).
 *
 * Importing this module runs nothing: tests call `ensureNeo4j()`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import neo4j from 'neo4j-driver';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const STATE = join(ROOT, '.neo4j');
const POM = join(HERE, 'pom.xml');
const LAUNCHER = join(HERE, 'Launcher.java');

const paths = {
  lib: join(STATE, 'lib'),
  libStamp: join(STATE, 'lib', '.pom-sha256'),
  home: join(STATE, 'home'),
  debugLog: join(STATE, 'home', 'logs', 'debug.log'),
  launcherLog: join(STATE, 'launcher.log'),
  mavenLog: join(STATE, 'maven.log'),
  pid: join(STATE, 'neo4j.pid'),
  ready: join(STATE, 'neo4j.ready'),
  lock: join(STATE, 'start.lock'),
} as const;

/** Where and how to connect; what `ensureNeo4j()` resolves to. */
export interface Neo4jConnection {
  readonly uri: string;
  readonly user: string;
  readonly password: string;
}

export function neo4jConnection(env: NodeJS.ProcessEnv = process.env): Neo4jConnection {
  const port = Number(env.NEO4J_BOLT_PORT ?? 7687);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(`neo4j: NEO4J_BOLT_PORT must be a port number, got ${JSON.stringify(env.NEO4J_BOLT_PORT)}`);
  }
  return { uri: `bolt://127.0.0.1:${port}`, user: 'neo4j', password: env.NEO4J_PASSWORD || 'presence-dev' };
}

export interface StartReport extends Neo4jConnection {
  readonly alreadyRunning: boolean;
  readonly pid: number | undefined;
  /** Milliseconds spent per step (absent when the step was skipped). */
  readonly timings: { resolve?: number; launch?: number; total: number };
}

/** Starts Neo4j unless Bolt already answers; resolves once an authenticated `RETURN 1` succeeds. */
export async function ensureNeo4j(): Promise<Neo4jConnection> {
  const { uri, user, password } = await start({ quiet: true });
  return { uri, user, password };
}

type Say = (line: string) => void;

export async function start(options: { quiet?: boolean } = {}): Promise<StartReport> {
  const say: Say = options.quiet ? () => {} : (line) => console.log(`neo4j: ${line}`);
  const conn = neo4jConnection();
  const t0 = Date.now();
  const timings: { resolve?: number; launch?: number; total: number } = { total: 0 };
  const done = (alreadyRunning: boolean): StartReport => ({
    ...conn,
    alreadyRunning,
    pid: readPid(),
    timings: { ...timings, total: Date.now() - t0 },
  });

  let first = await probe(conn);
  if (typeof first === 'object' && first.rejected.includes('AuthenticationRateLimit')) {
    // Another Neo4j (a container) locked the user after failed logins; its lock lasts 5 s by default.
    say('user locked after failed logins; retrying in 6 s');
    await new Promise((r) => setTimeout(r, 6_000));
    first = await probe(conn);
  }
  if (first === 'ok') {
    say(`already running at ${conn.uri}`);
    return done(true);
  }
  if (typeof first === 'object' && readReady() !== undefined) {
    // Our launcher is up and has set its password: this one differs. (Before the ready file exists, a
    // rejection only means the launcher has not set the password yet.)
    throw new Error(
      `neo4j: ${conn.uri} answers but rejects user ${conn.user} (${first.rejected}); it was started with ` +
        'another NEO4J_PASSWORD: run `npm run neo4j:stop`, then start again',
    );
  }
  mkdirSync(STATE, { recursive: true });
  const startTimeout = Number(process.env.NEO4J_START_TIMEOUT_MS ?? 120_000);
  const resolveTimeout = Number(process.env.NEO4J_RESOLVE_TIMEOUT_MS ?? 900_000);

  // Another process (a parallel test worker, a second terminal) may be starting it right now.
  while (!tryLock()) {
    say('another process is starting Neo4j; waiting for it');
    try {
      // The holder may be resolving from Maven first: allow for both steps.
      const deadline = Date.now() + resolveTimeout + startTimeout;
      await waitFor(async () => (await probe(conn)) === 'ok' || !lockHeld(), deadline, 500);
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      throw new Error(`neo4j: step "wait for another start" failed: ${paths.lock} still held after ${error.ms} ms`);
    }
    if ((await probe(conn)) === 'ok') {
      say(`ready at ${conn.uri} (started by another process)`);
      return done(true);
    }
  }
  try {
    if ((await probe(conn)) === 'ok') return done(true);
    const running = readPid();
    if (running !== undefined && isOurJvm(running)) {
      const serving = readReady();
      if (serving !== undefined && serving !== conn.uri) {
        throw new Error(
          `neo4j: pid ${running} serves ${serving}, not ${conn.uri} (NEO4J_BOLT_PORT changed?); ` +
            'run `npm run neo4j:stop` first',
        );
      }
      // Started earlier but not (yet) answering: wait for it rather than start a second JVM on the store.
      say(`pid ${running} is starting; waiting for Bolt`);
      await waitReady(conn, running, Date.now() + startTimeout);
      return done(true);
    }

    const r0 = Date.now();
    const resolved = await resolveJars(say, resolveTimeout);
    if (resolved) timings.resolve = Date.now() - r0;

    const l0 = Date.now();
    const pid = launch(conn);
    say(`launched pid ${pid}; waiting for Bolt on ${conn.uri} (log: ${paths.launcherLog})`);
    try {
      await waitReady(conn, pid, Date.now() + startTimeout);
    } catch (error) {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(paths.pid, { force: true });
      throw error;
    }
    timings.launch = Date.now() - l0;
    const report = done(false);
    say(`ready at ${conn.uri} (user ${conn.user}) in ${report.timings.total} ms`);
    return report;
  } finally {
    unlock();
  }
}

export async function stop(options: { quiet?: boolean } = {}): Promise<void> {
  const say: Say = options.quiet ? () => {} : (line) => console.log(`neo4j: ${line}`);
  const pid = readPid();
  if (pid === undefined || !isOurJvm(pid)) {
    rmSync(paths.pid, { force: true });
    const answering = (await probe(neo4jConnection())) !== 'unreachable';
    say(answering ? 'something answers Bolt, but it was not started by this script: left alone' : 'not running');
    return;
  }
  process.kill(pid, 'SIGTERM');
  say(`sent SIGTERM to pid ${pid}; waiting for it to exit`);
  try {
    await waitFor(async () => !isAlive(pid), Date.now() + 60_000);
  } catch {
    say(`pid ${pid} still alive after 60 s: SIGKILL`);
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => !isAlive(pid), Date.now() + 10_000);
  }
  rmSync(paths.pid, { force: true });
  rmSync(paths.ready, { force: true });
  say('stopped');
}

// ---- steps ---------------------------------------------------------------------------------------

/** Copies Neo4j and its dependencies into `.neo4j/lib` unless already there for this pom.xml. */
async function resolveJars(say: Say, timeoutMs: number): Promise<boolean> {
  const hash = createHash('sha256').update(readFileSync(POM)).digest('hex');
  if (existsSync(paths.libStamp) && readFileSync(paths.libStamp, 'utf8').trim() === hash) return false;

  say(`resolving Neo4j from Maven Central (Maven log: ${paths.mavenLog})`);
  const staging = `${paths.lib}.partial`;
  rmSync(staging, { recursive: true, force: true });
  const code = await run(
    'mvn',
    ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`, '-DincludeScope=runtime'],
    paths.mavenLog,
    timeoutMs,
  );
  if (code !== 0) {
    throw new Error(
      `neo4j: step "resolve" failed: mvn dependency:copy-dependencies exited with ${code}; see ${paths.mavenLog}\n` +
        tail(paths.mavenLog),
    );
  }
  rmSync(paths.lib, { recursive: true, force: true });
  renameSync(staging, paths.lib);
  writeFileSync(paths.libStamp, `${hash}\n`);
  return true;
}

function launch(conn: Neo4jConnection): number {
  rmSync(paths.ready, { force: true });
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const jvmOptions = (process.env.NEO4J_JAVA_OPTS ?? '-Xms128m -Xmx512m -XX:+ExitOnOutOfMemoryError')
    .split(/\s+/)
    .filter(Boolean);
  const log = openSync(paths.launcherLog, 'a');
  try {
    const child = spawn(
      java,
      [
        ...jvmOptions,
        // What Neo4j's own start script passes on Java 17 (Netty and the page cache reach into java.nio).
        '--add-opens=java.base/java.nio=ALL-UNNAMED',
        '--add-opens=java.base/java.io=ALL-UNNAMED',
        '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
        '-Dio.netty.tryReflectionSetAccessible=true',
        '-cp',
        join(paths.lib, '*'),
        LAUNCHER,
        paths.home,
        paths.ready,
      ],
      {
        cwd: STATE,
        detached: true, // own process group: survives the test runner that started it
        stdio: ['ignore', log, log],
        env: {
          ...process.env,
          NEO4J_BOLT_HOST: '127.0.0.1',
          NEO4J_BOLT_PORT: conn.uri.slice(conn.uri.lastIndexOf(':') + 1),
          NEO4J_PASSWORD: conn.password,
        },
      },
    );
    if (child.pid === undefined) {
      throw new Error(`neo4j: step "launch" failed: could not spawn ${java} (is Java 17 installed?)`);
    }
    child.on('error', () => {}); // reported through waitReady (process gone)
    child.unref();
    writeFileSync(paths.pid, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** Waits for the launcher's ready file, then for an authenticated query; fails early if the JVM dies. */
async function waitReady(conn: Neo4jConnection, pid: number, deadline: number): Promise<void> {
  const failure = (what: string) =>
    new Error(
      `neo4j: step "wait for Bolt" failed: ${what}; see ${paths.launcherLog} and ${paths.debugLog}\n` +
        tail(paths.launcherLog),
    );
  try {
    await waitFor(async () => {
      if (!isAlive(pid)) throw failure(`the JVM (pid ${pid}) exited during start-up`);
      return existsSync(paths.ready);
    }, deadline);
  } catch (error) {
    if (error instanceof TimeoutError) throw failure(`not ready after ${Math.round(error.ms / 1000)} s`);
    throw error;
  }
  let last: ProbeResult = 'unreachable';
  try {
    await waitFor(async () => {
      last = await probe(conn);
      if (last === 'ok') return true;
      if (typeof last === 'object') throw failure(`Bolt rejects ${conn.user}: ${last.rejected}`);
      if (!isAlive(pid)) throw failure(`the JVM (pid ${pid}) exited`);
      return false;
    }, deadline);
  } catch (error) {
    if (error instanceof TimeoutError) throw failure(`${conn.uri} does not answer (last probe: ${String(last)})`);
    throw error;
  }
}

type ProbeResult = 'ok' | 'unreachable' | { rejected: string };

/** One authenticated `RETURN 1`; never retries (a wrong password counts towards Neo4j's lock-out). */
async function probe(conn: Neo4jConnection): Promise<ProbeResult> {
  const driver = neo4j.driver(conn.uri, neo4j.auth.basic(conn.user, conn.password), {
    connectionTimeout: 2_000,
    connectionAcquisitionTimeout: 3_000,
    maxConnectionPoolSize: 1,
  });
  // An auto-commit query: the driver's managed-transaction retries (≈1 s backoff even at 0 retry time)
  // would slow down every "is it up yet?" check.
  const session = driver.session();
  try {
    await session.run('RETURN 1 AS one');
    return 'ok';
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('Neo.ClientError.Security.')) return { rejected: `${code}: ${(error as Error).message}` };
    return 'unreachable';
  } finally {
    await session.close();
    await driver.close();
  }
}

// ---- processes, files, waiting -------------------------------------------------------------------

function run(command: string, args: string[], logPath: string, timeoutMs: number): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const log = openSync(logPath, 'w');
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', log, log] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      closeSync(log);
      reject(new Error(`neo4j: step "resolve" failed: cannot run ${command} (${error.message}); is Maven installed?`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      closeSync(log);
      resolvePromise(code ?? (signal === 'SIGKILL' ? 124 : 1));
    });
  });
}

/** The URI in the launcher's ready file, if it is up. */
function readReady(): string | undefined {
  try {
    return readFileSync(paths.ready, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function readPid(): number | undefined {
  try {
    const pid = Number(readFileSync(paths.pid, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie (a JVM whose parent has not reaped it yet counts as gone). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pid is a launcher JVM (guards against a recycled pid). */
function isOurJvm(pid: number): boolean {
  try {
    return isAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(LAUNCHER);
  } catch {
    return false;
  }
}

function tryLock(): boolean {
  try {
    const fd = openSync(paths.lock, 'wx');
    writeFileSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    if (!lockHeld()) {
      rmSync(paths.lock, { force: true }); // its owner died without unlocking
      return tryLock();
    }
    return false;
  }
}

function lockHeld(): boolean {
  try {
    const owner = Number(readFileSync(paths.lock, 'utf8').trim());
    return Number.isInteger(owner) && owner > 0 && isAlive(owner);
  } catch {
    return false;
  }
}

function unlock(): void {
  rmSync(paths.lock, { force: true });
}

class TimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
  }
}

async function waitFor(condition: () => Promise<boolean>, deadline: number, intervalMs = 250): Promise<void> {
  const began = Date.now();
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) throw new TimeoutError(Date.now() - began);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${path})`;
  }
}

// ---- CLI -----------------------------------------------------------------------------------------

async function main(command: string | undefined): Promise<void> {
  switch (command) {
    case 'start': {
      const report = await start();
      const { resolve: resolveMs, launch: launchMs, total } = report.timings;
      if (!report.alreadyRunning) {
        console.log(
          `neo4j: timings: resolve ${resolveMs === undefined ? 'cached' : `${resolveMs} ms`}, ` +
            `launch ${launchMs} ms, total ${total} ms; pid ${report.pid}`,
        );
      }
      return;
    }
    case 'stop':
      return stop();
    case 'status': {
      const result = await probe(neo4jConnection());
      console.log(`neo4j: ${typeof result === 'string' ? result : `rejected (${result.rejected})`}; pid ${readPid() ?? '-'}`);
      return;
    }
    default:
      console.error('usage: tsx scripts/neo4j/control.ts start|stop|status');
      process.exitCode = 64;
  }
}

const isEntryPoint = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isEntryPoint) {
  main(process.argv[2]).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
