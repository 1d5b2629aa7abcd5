/**
 * The layout is the architecture: imports run one way — the pure core at the bottom, the stores' ports
 * and implementations on it, the use cases on those, the API and the subscriptions on the use cases, the
 * server composing everything — and no file imports, even for types, a file that imports it back.
 * Read from the sources themselves (every `import … from`, `export … from` and `import()` of a relative
 * path), so a new import that breaks a rule fails here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Each product folder, and the folders it may import from (besides itself). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  presence: [],
  hot: ['presence'],
  graph: ['presence', 'hot'],
  prisma: ['presence', 'hot'],
  service: ['presence', 'hot', 'graph', 'prisma'],
  subscriptions: ['presence', 'hot', 'service'],
  resolvers: ['presence', 'service', 'subscriptions'],
  schema: ['presence', 'resolvers', 'subscriptions'],
  server: ['presence', 'hot', 'graph', 'prisma', 'service', 'subscriptions', 'resolvers', 'schema'],
  scripts: ['presence', 'prisma', 'schema', 'server'],
  client: [],
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'generated' || name.startsWith('.')) return [];
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|tsx|mts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s(?:[^'"]*?\sfrom\s)?\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** Every relative import of every source file under the product folders, bench and test: file → files. */
function importGraph(): Map<string, string[]> {
  const files = [...Object.keys(MAY_IMPORT), 'bench', 'test'].flatMap((folder) => sources(join(ROOT, folder)));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const match of text.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2]!;
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      targets.push(relative(ROOT, target));
    }
    graph.set(relative(ROOT, file), targets);
  }
  return graph;
}

/** Strongly connected components of more than one file (Tarjan): the import cycles. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indexOf.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indexOf.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, indexOf.get(next)!));
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indexOf.has(node)) visit(node);
  return found;
}

const folderOf = (file: string) => file.split('/')[0]!;

describe('the import graph', () => {
  const graph = importGraph();

  it('should have read the sources it judges', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('server/app.ts')).toContain('service/visibility.ts');
  });

  it('should have no import cycle, type-only imports included', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('should find a cycle where there is one (the check itself)', () => {
    expect(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]))).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it.each(Object.entries(MAY_IMPORT))('should import into %s/ only from the layers below it', (folder, allowed) => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      if (folderOf(file) !== folder) continue;
      for (const target of targets) {
        const to = folderOf(target);
        if (to !== folder && !allowed.includes(to)) wrong.push(`${file} → ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('should keep the product free of benchmark and test code', () => {
    const wrong = [...graph].flatMap(([file, targets]) =>
      folderOf(file) in MAY_IMPORT ? targets.filter((t) => ['bench', 'test'].includes(folderOf(t))).map((t) => `${file} → ${t}`) : [],
    );
    expect(wrong).toEqual([]);
  });
});
