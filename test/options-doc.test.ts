import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { optionsPage, PAGE } from '../scripts/options-doc.js';
import { DEFAULTS, OPTIONS, OPTION_NAMES, type OptionSpec } from '../src/config/options.js';
import { resolveConfig } from '../src/config/resolve-config.js';

describe('the option schema', () => {
  it('docs/options.md is what the schema generates: after a change to an option, `npm run docs:options` writes it again', () => {
    assert.equal(readFileSync(PAGE, 'utf8'), optionsPage(), 'docs/options.md is stale: run npm run docs:options');
  });

  it('the page has one row per option, in the order of the schema', () => {
    const storeTable = optionsPage().split('\n## ')[0]!;
    const rows = [...storeTable.matchAll(/^\| `(\w+)` \| (?:`\w+`|—) \|/gm)].map((m) => m[1]);
    assert.deepEqual(rows, OPTION_NAMES);
  });

  it('every default passes its own option\'s check, and resolveConfig({}) fills it in', () => {
    const config = resolveConfig({}) as unknown as Record<string, unknown>;
    for (const [name, value] of Object.entries(DEFAULTS)) {
      assert.doesNotThrow(() => (OPTIONS[name as keyof typeof OPTIONS] as OptionSpec).check(value, name), name);
      assert.equal(config[name], value, name);
    }
  });

  it('DEFAULTS keeps the values it always had', () => {
    assert.deepEqual(
      { ...DEFAULTS },
      {
        table: 'Tomcat_SessionState',
        readCapacityUnits: 10,
        writeCapacityUnits: 5,
        createIfNotExist: true,
        billingMode: 'PROVISIONED',
        consistentRead: 'auto',
        ttl: 86_400,
        touchAfter: 'auto',
        locking: 'auto',
        lockLeaseMs: 10_000,
        maxLockWaitMs: 10_000,
        maxLockHoldMs: 60_000,
        maxSaveAttempts: 100,
        compression: true,
        compressionThreshold: 1024,
        maxSessionBytes: 400 * 1024,
        decodedCacheBytes: 16 * 1024 * 1024,
        deleteCorruptSessions: false,
        reapIntervalMs: 0,
        onSessionLimit: 'evict-oldest',
        trackDevices: false,
        maxAttempts: 3,
        retryMode: 'standard',
        requestTimeoutMs: 3_000,
        skipTableCheck: false,
        returnConsumedCapacity: false,
        // Added with global tables (docs/global-tables.md).
        onRegionFailure: 'fail',
      },
    );
  });

  it('an option name that is a property of every object (toString, constructor) is unknown, not a crash', () => {
    assert.throws(() => resolveConfig({ toString: 'x' } as never), /unknown option "toString"/);
  });
});
