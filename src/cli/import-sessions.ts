/**
 * `dynamodb-session import`: copies the live sessions of another store into the table under
 * the same ids and expiries, so the signed cookies users hold keep working. Each copy is a
 * conditional create (core/save-session.ts createIfAbsent): a re-run, or a SCAN that returns a key
 * twice, copies nothing twice, and a session already here (newer) is never overwritten.
 * Progress is kept in a checkpoint file after every page (its position per Scan segment, or
 * the Redis cursor): an interrupted import resumes where it stopped. The file is deleted when
 * the import completes.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { contextOf, type SessionStore } from '../store/session-store.js';
import { createIfAbsent } from '../core/save-session.js';
import { tracedAdmin } from '../core/telemetry.js';
import { ConfigError, InvalidSessionIdError, SessionSerializationError, SessionTooLargeError } from '../errors.js';
import { toStored, withPlainCookie } from '../adapters/cookie-shape.js';
import type { ImportSource, SourceRecord } from './import-sources.js';

export interface ImportCounts {
  scanned: number;
  copied: number;
  expired: number;
  alreadyHere: number;
  corrupt: number;
}

export interface ImportOptions {
  dryRun: boolean;
  /** Writes in flight per lane. */
  concurrency: number;
  /** Where progress is kept; none with dryRun. */
  checkpointFile: string | undefined;
  /** What the checkpoint must have been written for (source, prefix, target table, lanes). */
  identity: Record<string, unknown>;
  /** Set to stop after the pages in flight (Ctrl-C). */
  stop: { requested: boolean };
  onProgress(counts: ImportCounts): void;
  onCorrupt(key: string, reason: string): void;
}

interface Checkpoint {
  identity: Record<string, unknown>;
  lanes: Array<{ position: unknown; done: boolean }>;
  counts: ImportCounts;
}

export interface ImportResult {
  counts: ImportCounts;
  /** Stopped before the end: the checkpoint holds, and a re-run finishes. */
  interrupted: boolean;
  /** Counts of earlier runs this one resumed (included in `counts`). */
  resumed: ImportCounts | undefined;
}

const zero = (): ImportCounts => ({ scanned: 0, copied: 0, expired: 0, alreadyHere: 0, corrupt: 0 });

function readCheckpoint(file: string, identity: Record<string, unknown>, lanes: number): Checkpoint | undefined {
  if (!existsSync(file)) return undefined;
  let saved: Checkpoint;
  try {
    saved = JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
  } catch (err) {
    throw new ConfigError(`checkpoint file "${file}" cannot be read (${(err as Error).message}): delete it to import from the start (nothing is copied twice)`);
  }
  if (JSON.stringify(saved.identity) !== JSON.stringify(identity) || !Array.isArray(saved.lanes) || saved.lanes.length !== lanes) {
    throw new ConfigError(
      `checkpoint file "${file}" belongs to another import (${JSON.stringify(saved.identity)}): ` +
        'give the same --from, source, --prefix, --segments and --table, another --checkpoint, or delete it',
    );
  }
  return saved;
}

/** Written whole to a file beside it, then renamed: an interrupted write never leaves half a checkpoint. */
function writeCheckpoint(file: string, checkpoint: Checkpoint): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(checkpoint)}\n`);
  renameSync(temp, file);
}

/** One `session.admin.import` span when a tracer provider is registered (core/telemetry.ts), with the run's counts. */
export function importSessions(store: SessionStore, source: ImportSource, options: ImportOptions): Promise<ImportResult> {
  return tracedAdmin(store, 'import', 'PutItem', () => runImport(store, source, options), (result) => ({
    'dynamodb_session.import.copied': result.counts.copied,
    'dynamodb_session.import.already_here': result.counts.alreadyHere,
    'dynamodb_session.import.expired': result.counts.expired,
    'dynamodb_session.import.corrupt': result.counts.corrupt,
    'dynamodb_session.import.interrupted': result.interrupted,
  }));
}

async function runImport(store: SessionStore, source: ImportSource, options: ImportOptions): Promise<ImportResult> {
  const file = options.dryRun ? undefined : options.checkpointFile;
  const saved = file ? readCheckpoint(file, options.identity, source.lanes) : undefined;
  const checkpoint: Checkpoint = saved ?? {
    identity: options.identity,
    lanes: Array.from({ length: source.lanes }, () => ({ position: null, done: false })),
    counts: zero(),
  };
  const resumed = saved ? { ...saved.counts } : undefined;
  const counts = checkpoint.counts;

  const copy = async (record: SourceRecord): Promise<void> => {
    counts.scanned += 1;
    if ('corrupt' in record) return corrupt(record.key, record.corrupt);
    if (record.expiresAtMs <= Date.now()) {
      counts.expired += 1;
      return;
    }
    try {
      store.keyOf(record.id);
      if (options.dryRun) {
        if ((await store.get(record.id)) === null) counts.copied += 1;
        else counts.alreadyHere += 1;
        return;
      }
      const outcome = await createIfAbsent(contextOf(store), record.id, toStored(withPlainCookie(record.data)), record.expiresAtMs);
      if (outcome === 'created') counts.copied += 1;
      else counts.alreadyHere += 1;
    } catch (err) {
      if (err instanceof InvalidSessionIdError || err instanceof SessionTooLargeError || err instanceof SessionSerializationError) {
        return corrupt(record.key, err.message);
      }
      throw err;
    }
  };
  const corrupt = (key: string, reason: string) => {
    counts.corrupt += 1;
    options.onCorrupt(key, reason);
  };

  const lane = async (index: number): Promise<void> => {
    const state = checkpoint.lanes[index]!;
    while (!state.done && !options.stop.requested) {
      const page = await source.page(index, state.position);
      for (let i = 0; i < page.records.length; i += options.concurrency) {
        await Promise.all(page.records.slice(i, i + options.concurrency).map(copy));
      }
      // The page is done: the position moves past it, and only then is it written down.
      state.position = page.next;
      state.done = page.next === null;
      if (file) writeCheckpoint(file, checkpoint);
      options.onProgress(counts);
    }
  };

  // A lane that fails (DynamoDB or Redis away) stops the others after their pages in flight; the checkpoint holds all finished pages.
  const ended = await Promise.allSettled(
    checkpoint.lanes.map((_, i) =>
      lane(i).catch((err: unknown) => {
        options.stop.requested = true;
        throw err;
      }),
    ),
  );
  const failed = ended.find((e): e is PromiseRejectedResult => e.status === 'rejected');
  if (failed) throw failed.reason;
  const interrupted = checkpoint.lanes.some((l) => !l.done);
  if (file && !interrupted) rmSync(file, { force: true });
  return { counts, interrupted, resumed };
}

export function importSummary(counts: ImportCounts, dryRun: boolean): string {
  return (
    `${dryRun ? 'dry run: would copy' : 'copied'} ${counts.copied}, expired skipped ${counts.expired}, ` +
    `already here ${counts.alreadyHere}, corrupt ${counts.corrupt} (of ${counts.scanned} read)`
  );
}
