/**
 * Progress of a command that scans a table (purge-expired, import): a bar on
 * a terminal, plain lines (at most one a second) when the output is a file or
 * a pipe, so logs stay readable.
 */
import cliProgress from 'cli-progress';
import type { PurgeProgress } from '../core/purge.js';
import type { ImportCounts } from './import-sessions.js';

export interface ProgressReporter<P> {
  update(p: P): void;
  done(): void;
}

interface ScanProgress<P extends { scanned: number }> {
  /** The bar's format: `{value}` is items scanned, the other fields come from `fields`. */
  format: string;
  fields(p: P): Record<string, number>;
  /** The plain line written when the output is not a terminal. */
  line(p: P): string;
}

/** `estimate`: the table's item count as DynamoDB last reported it (refreshed about every 6 hours), else 0. */
function scanReporter<P extends { scanned: number }>(stream: NodeJS.WriteStream, estimate: number, zero: P, shape: ScanProgress<P>): ProgressReporter<P> {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({ stream, format: shape.format, hideCursor: true }, cliProgress.Presets.shades_classic);
    let total = Math.max(1, estimate);
    bar.start(total, 0, shape.fields(zero));
    return {
      update(p) {
        if (p.scanned > total) {
          total = p.scanned;
          bar.setTotal(total);
        }
        bar.update(p.scanned, shape.fields(p));
      },
      done() {
        bar.stop();
      },
    };
  }
  let last = Date.now();
  return {
    update(p) {
      if (Date.now() - last < 1000) return;
      last = Date.now();
      stream.write(`${shape.line(p)}\n`);
    },
    done() {},
  };
}

const purgeLine = (p: PurgeProgress) => `scanned ${p.scanned}, expired ${p.expired}, deleted ${p.deleted}, skipped ${p.skipped}`;

export function progressReporter(stream: NodeJS.WriteStream, estimate: number): ProgressReporter<PurgeProgress> {
  return scanReporter(stream, estimate, { scanned: 0, expired: 0, deleted: 0, skipped: 0 } as PurgeProgress, {
    format: 'purge [{bar}] {value}/{total} scanned | expired {expired} | deleted {deleted} | skipped {skipped}',
    fields: (p) => ({ expired: p.expired, deleted: p.deleted, skipped: p.skipped }),
    line: purgeLine,
  });
}

export const summaryLine = purgeLine;

export function importProgressReporter(stream: NodeJS.WriteStream, estimate: number): ProgressReporter<ImportCounts> {
  return scanReporter(stream, estimate, { scanned: 0, copied: 0, expired: 0, alreadyHere: 0, corrupt: 0 }, {
    format: 'import [{bar}] {value}/{total} read | copied {copied} | expired {expired} | already here {alreadyHere} | corrupt {corrupt}',
    fields: (c) => ({ copied: c.copied, expired: c.expired, alreadyHere: c.alreadyHere, corrupt: c.corrupt }),
    line: (c) => `read ${c.scanned}, copied ${c.copied}, expired ${c.expired}, already here ${c.alreadyHere}, corrupt ${c.corrupt}`,
  });
}
