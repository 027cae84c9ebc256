/**
 * Progress of purge-expired: a bar on a terminal, plain lines (at most one a
 * second) when the output is a file or a pipe, so logs stay readable.
 */
import cliProgress from 'cli-progress';
import type { PurgeProgress } from '../core/purge.js';

export interface ProgressReporter {
  update(p: PurgeProgress): void;
  done(): void;
}

const line = (p: PurgeProgress) => `scanned ${p.scanned}, expired ${p.expired}, deleted ${p.deleted}, skipped ${p.skipped}`;

/** `estimate`: the table's item count as DynamoDB last reported it (refreshed about every 6 hours). */
export function progressReporter(stream: NodeJS.WriteStream, estimate: number): ProgressReporter {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: 'purge [{bar}] {value}/{total} scanned | expired {expired} | deleted {deleted} | skipped {skipped}',
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let total = Math.max(1, estimate);
    bar.start(total, 0, { expired: 0, deleted: 0, skipped: 0 });
    return {
      update(p) {
        if (p.scanned > total) {
          total = p.scanned;
          bar.setTotal(total);
        }
        bar.update(p.scanned, { expired: p.expired, deleted: p.deleted, skipped: p.skipped });
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
      stream.write(`${line(p)}\n`);
    },
    done() {},
  };
}

export const summaryLine = line;
