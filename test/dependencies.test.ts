/**
 * package.json's `engines` is a promise to users: every package npm installs
 * for the project must run on every Node version it admits, or `npm install`
 * on the oldest of them warns EBADENGINE (as cookie@2, "node >=22", did on Node 20).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import semver from 'semver';

interface LockedPackage {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  engines?: { node?: string } | string[];
  os?: string[];
  cpu?: string[];
}

/** npm installs a package with `os` or `cpu` only on those (a native binary's build for another platform): only then does its engines count. */
const installedHere = (p: LockedPackage): boolean => {
  const fits = (list: string[] | undefined, value: string) => list === undefined || (list.some((v) => v === value) && !list.includes(`!${value}`)) || (list.every((v) => v.startsWith('!')) && !list.includes(`!${value}`));
  return fits(p.os, process.platform) && fits(p.cpu, process.arch);
};

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockedPackage> };
const ours = pkg.engines.node;

/** Installed packages (not the project itself) whose engines.node leaves out some Node version ours admits. */
function narrower(select: (p: LockedPackage) => boolean): string[] {
  return Object.entries(lock.packages)
    .filter(([path, p]) => path !== '' && select(p) && installedHere(p))
    .flatMap(([path, p]) => {
      const node = Array.isArray(p.engines) ? undefined : p.engines?.node;
      if (node === undefined || semver.subset(ours, node)) return [];
      return [`${path.replace(/^.*node_modules\//, '')}@${p.version} needs node ${node}`];
    });
}

describe(`engines.node "${ours}"`, () => {
  it('is the range package-lock.json records for the project', () => {
    assert.equal((lock.packages['']?.engines as { node?: string } | undefined)?.node, ours);
  });

  it('admits Node 20 and 22, as the README says, quoting the range', () => {
    assert.ok(semver.intersects(ours, '20.x'), ours);
    assert.ok(semver.intersects(ours, '22.x'), ours);
    const minimum = semver.minVersion(ours)!.version;
    const readme = readFileSync('README.md', 'utf8');
    assert.match(readme, new RegExp(`Requirements: Node\\.js ${minimum.replace(/\./g, '\\.')} or later`));
    // Node 21 is left out (Vite and @sveltejs/vite-plugin-svelte leave it out): the README says the range itself.
    assert.ok(readme.replace(/\s+/g, ' ').includes(`\`${ours}\``), `README's Requirements quote engines.node, \`${ours}\``);
  });

  it('every production dependency, direct or not, runs on every Node version it admits', () => {
    assert.deepEqual(narrower((p) => !p.dev), []);
  });

  it('so does every development dependency: npm install in a clone warns of no engine', () => {
    assert.deepEqual(narrower((p) => p.dev === true), []);
  });
});
