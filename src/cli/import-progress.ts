/**
 * Progress of `import`: a bar on a terminal, plain lines (at most one a second) when the
 * output is a file or a pipe, as purge-expired's (progress.ts).
 */
import cliProgress from 'cli-progress';
import type { ImportCounts } from './import-sessions.js';
import type { ProgressReporter } from './progress.js';

const line = (c: ImportCounts) => `read ${c.scanned}, copied ${c.copied}, expired ${c.expired}, already here ${c.alreadyHere}, corrupt ${c.corrupt}`;

export function importProgressReporter(stream: NodeJS.WriteStream, estimate: number): Omit<ProgressReporter, 'update'> & { update(c: ImportCounts): void } {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream, format: 'import [{bar}] {value}/{total} read | copied {copied} | expired {expired} | already here {alreadyHere} | corrupt {corrupt}', hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let total = Math.max(1, estimate);
    bar.start(total, 0, { copied: 0, expired: 0, alreadyHere: 0, corrupt: 0 });
    return {
      update(c) {
        if (c.scanned > total) {
          total = c.scanned;
          bar.setTotal(total);
        }
        bar.update(c.scanned, { copied: c.copied, expired: c.expired, alreadyHere: c.alreadyHere, corrupt: c.corrupt });
      },
      done() {
        bar.stop();
      },
    };
  }
  let last = Date.now();
  return {
    update(c) {
      if (Date.now() - last < 1000) return;
      last = Date.now();
      stream.write(`${line(c)}\n`);
    },
    done() {},
  };
}
