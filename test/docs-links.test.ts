/**
 * Every relative link of the README and of docs/ leads somewhere: the file
 * exists, and a `#fragment` names a heading of that file (as GitHub makes its
 * anchors). Sections move between these pages; a link left behind fails here.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve('.');

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? markdownFiles(path) : name.endsWith('.md') ? [path] : [];
  });
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2… */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^```/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.+?)\s*$/.exec(line);
    if (!heading) continue;
    const base = heading[1]!
      .toLowerCase()
      .replace(/`/g, '')
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = counts.get(base) ?? 0;
    counts.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The targets of the Markdown links of a text, outside code blocks and code spans. */
function linksOf(text: string): string[] {
  const prose = text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

it("every relative link of the README and docs/ names a file that exists, and a heading of it when it has a #fragment", () => {
  const files = [join(ROOT, 'README.md'), ...markdownFiles(join(ROOT, 'docs'))];
  const broken: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const link of linksOf(text)) {
      if (/^[a-z]+:/i.test(link)) continue;
      const [path, fragment] = link.split('#') as [string, string | undefined];
      const target = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
      const where = `${relative(ROOT, file)}: (${link})`;
      if (!existsSync(target)) {
        broken.push(`${where} → no file ${relative(ROOT, target)}`);
        continue;
      }
      if (fragment && target.endsWith('.md') && !anchorsOf(readFileSync(target, 'utf8')).has(fragment)) broken.push(`${where} → no heading #${fragment} in ${relative(ROOT, target)}`);
    }
  }
  assert.deepEqual(broken, []);
});

it('the anchors are GitHub\'s: punctuation dropped, code marks dropped, repeats numbered', () => {
  const anchors = anchorsOf('## Concurrent requests: no lost updates\n## Operations: the `dynamodb-session` CLI\n## Memory\n### Memory\n```sh\n# not a heading\n```\n');
  assert.deepEqual([...anchors], ['concurrent-requests-no-lost-updates', 'operations-the-dynamodb-session-cli', 'memory', 'memory-1']);
});
