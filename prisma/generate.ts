/**
 * `npm run prisma:generate`: writes the Prisma client to prisma/generated/ without network access, and
 * does nothing when it is already current — cheap enough to run before every `npm start` / `npm test`.
 *
 * Why a wrapper: the Prisma 7 CLI insists on having its schema-engine binary before `generate`, and
 * downloads it from binaries.prisma.sh, which this machine kind cannot reach. `generate` never runs the
 * engine, so any executable satisfies the check: we point PRISMA_SCHEMA_ENGINE_BINARY at the running
 * `node` unless the caller set it (a real engine, where one exists, is used as is).
 *
 * "Current" means prisma/generated/.schema-hash holds the sha256 of schema.prisma plus the versions of
 * `prisma` and `@prisma/client`; edit the schema or upgrade Prisma and the next call regenerates.
 * Concurrent callers (parallel test workers, `npm start` twice) serialise on a lock directory.
 *
 * Flags: `--force` regenerates anyway; `--check` exits 1 when stale, without generating.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '..');
export const SCHEMA_PATH = resolve(HERE, 'schema.prisma');
export const OUTPUT_DIR = resolve(HERE, 'generated');
const HASH_FILE = resolve(OUTPUT_DIR, '.schema-hash');
const LOCK_DIR = resolve(HERE, '.generate.lock');
/** A lock older than this is a crashed generator's, and is taken over. */
const STALE_LOCK_MS = 120_000;

const require = createRequire(import.meta.url);

export interface GenerateOptions {
  /** Regenerate even when the stamp matches. */
  force?: boolean;
  /** Progress lines; default silent. */
  log?: (line: string) => void;
}

export interface GenerateResult {
  readonly generated: boolean;
  readonly hash: string;
}

async function versionOf(pkg: string): Promise<string> {
  const json = JSON.parse(await readFile(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string };
  return json.version;
}

/** The stamp the generated client must carry to count as current. */
export async function expectedHash(): Promise<string> {
  const [schema, cli, client] = await Promise.all([
    readFile(SCHEMA_PATH, 'utf8'),
    versionOf('prisma'),
    versionOf('@prisma/client'),
  ]);
  return createHash('sha256').update(`prisma ${cli}\n@prisma/client ${client}\n${schema}`).digest('hex');
}

/** Whether prisma/generated/ holds a client generated from the current schema with the installed Prisma. */
export async function isCurrent(hash?: string): Promise<boolean> {
  const want = hash ?? (await expectedHash());
  const have = await readFile(HASH_FILE, 'utf8').catch(() => null);
  if (have?.trim() !== want) return false;
  return stat(resolve(OUTPUT_DIR, 'client.ts')).then(
    () => true,
    () => false,
  );
}

/** The environment `prisma generate` runs with: offline, quiet, no telemetry. */
export function generateEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    PRISMA_SCHEMA_ENGINE_BINARY: base.PRISMA_SCHEMA_ENGINE_BINARY || process.execPath,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  };
}

function runPrismaGenerate(): Promise<string> {
  const cli = require.resolve('prisma/build/index.js');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [cli, 'generate', '--schema', SCHEMA_PATH], {
      cwd: ROOT,
      env: generateEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(output);
      else reject(new Error(`prisma:generate: \`prisma generate\` exited with ${code}:\n${output.trim()}`));
    });
  });
}

async function withLock<T>(work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const since = await stat(LOCK_DIR).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (since > STALE_LOCK_MS) {
        await rm(LOCK_DIR, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`prisma:generate: ${LOCK_DIR} is held by another generator`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await work();
  } finally {
    await rm(LOCK_DIR, { recursive: true, force: true });
  }
}

/** Generates the client unless it is already current. Rejects with Prisma's output when it fails. */
export async function ensureGenerated(options: GenerateOptions = {}): Promise<GenerateResult> {
  const log = options.log ?? (() => {});
  const hash = await expectedHash();
  if (!options.force && (await isCurrent(hash))) return { generated: false, hash };
  return withLock(async () => {
    // Someone else may have generated it while we waited for the lock.
    if (!options.force && (await isCurrent(hash))) return { generated: false, hash };
    await rm(HASH_FILE, { force: true });
    log((await runPrismaGenerate()).trim());
    await writeFile(HASH_FILE, `${hash}\n`);
    return { generated: true, hash };
  });
}

async function main(argv: readonly string[]): Promise<void> {
  try {
    if (argv.includes('--check')) {
      const current = await isCurrent();
      console.log(current ? 'prisma:generate: client is current' : 'prisma:generate: client is stale');
      process.exitCode = current ? 0 : 1;
      return;
    }
    const result = await ensureGenerated({ force: argv.includes('--force'), log: (line) => console.log(line) });
    if (!result.generated) console.log('prisma:generate: client is current, nothing to do');
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
