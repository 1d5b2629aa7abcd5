/**
 * The repository documents itself: every relative link in its Markdown (READMEs, docs/, bench/) points
 * at a file or folder inside the repository that exists — a clone has nothing beside it — and every
 * `#anchor` into a Markdown file names one of its headings.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function markdown(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.') || name === 'generated') return [];
    if (statSync(path).isDirectory()) return markdown(path);
    return name.endsWith('.md') ? [path] : [];
  });
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
}

const LINK = /\[[^\]]*\]\(([^)\s]+)\)/g;

describe('links in the repository\'s Markdown', () => {
  const files = markdown(ROOT);
  const links = files.flatMap((file) => {
    const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
    return [...text.matchAll(LINK)].map((m) => ({ file: relative(ROOT, file), href: m[1]! }));
  });

  it('should have found the documents and their links', () => {
    expect(files.map((f) => relative(ROOT, f))).toEqual(expect.arrayContaining(['README.md', 'docs/api.md', 'bench/README.md']));
    expect(links.filter((l) => l.file === 'README.md').map((l) => l.href)).toContain('docs/api.md');
  });

  it('should point only inside the repository, at what exists', () => {
    const broken = links.flatMap(({ file, href }) => {
      if (/^[a-z]+:/i.test(href)) return []; // an absolute URL: not this check's
      const [path, anchor] = href.split('#') as [string, string | undefined];
      const target = path === '' ? join(ROOT, file) : resolve(ROOT, dirname(file), path);
      if (relative(ROOT, target).startsWith('..')) return [`${file}: ${href} leaves the repository`];
      if (!existsSync(target)) return [`${file}: ${href} does not exist`];
      if (anchor && target.endsWith('.md') && !anchors(target).has(anchor)) return [`${file}: ${href} names no heading`];
      return [];
    });
    expect(broken).toEqual([]);
  });
});
