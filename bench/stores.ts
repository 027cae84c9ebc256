/** The session stores the bench compares, by the name used with `--only`. */
import { ConfigError } from '../src/errors.js';

export type StoreSpec =
  | { name: string; label: string; kind: 'memory'; dynamo: false }
  | {
      name: string;
      label: string;
      kind: 'ours';
      dynamo: true;
      locking: 'none' | 'auto' | 'optimistic' | 'pessimistic';
      consistentRead: boolean | 'auto';
      /** Resolve a conflict on a number by adding both sides' changes (counters). */
      addDeltas?: boolean;
      /** Run only these workloads (a variant that only matters for some). */
      workloads?: string[];
    }
  | { name: string; label: string; kind: 'connect-dynamodb' | 'dynamodb-store'; dynamo: true };

/** The apps' session cookie (express-session's default name, set explicitly by bench/app-server.ts). */
export const SESSION_COOKIE = 'connect.sid';

export const STORES: readonly StoreSpec[] = [
  { name: 'memory', label: 'express-session MemoryStore (no DynamoDB)', kind: 'memory', dynamo: false },
  { name: 'ours-none', label: 'ours, locking: none', kind: 'ours', dynamo: true, locking: 'none', consistentRead: true },
  { name: 'ours-auto', label: 'ours, defaults (locking: auto, consistentRead: auto)', kind: 'ours', dynamo: true, locking: 'auto', consistentRead: 'auto' },
  { name: 'ours-strong', label: 'ours, locking: auto, consistentRead: true (the default before issue 31)', kind: 'ours', dynamo: true, locking: 'auto', consistentRead: true },
  { name: 'ours-optimistic', label: 'ours, locking: optimistic', kind: 'ours', dynamo: true, locking: 'optimistic', consistentRead: true },
  { name: 'ours-pessimistic', label: 'ours, locking: pessimistic', kind: 'ours', dynamo: true, locking: 'pessimistic', consistentRead: true },
  {
    name: 'ours-counter',
    label: 'ours, optimistic + onConflict adding counter deltas',
    kind: 'ours',
    dynamo: true,
    locking: 'optimistic',
    consistentRead: true,
    addDeltas: true,
    workloads: ['burst'],
  },
  { name: 'ours-eventual', label: 'ours, optimistic, consistentRead: false', kind: 'ours', dynamo: true, locking: 'optimistic', consistentRead: false },
  { name: 'connect-dynamodb', label: 'connect-dynamodb', kind: 'connect-dynamodb', dynamo: true },
  { name: 'dynamodb-store', label: 'dynamodb-store', kind: 'dynamodb-store', dynamo: true },
];

export function storeSpec(name: string): StoreSpec {
  const spec = STORES.find((s) => s.name === name);
  if (!spec) throw new ConfigError(`bench: unknown store "${name}": use one of ${STORES.map((s) => s.name).join(', ')}`);
  return spec;
}
