/**
 * Processes started as a newcomer starts them in a terminal: a shell command
 * in a process group of its own, with a shell's environment that has nothing
 * of this test run in it, stopped by the group as Ctrl-C would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/**
 * A shell with nothing of this test run in it: no npm_* settings of an outer
 * `npm test`, no AWS credentials, region or SDK switches (a developer's ~/.aws
 * files are kept out too), nothing of the suite's engines.
 */
export function newcomerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(npm_|AWS_|DSM_|DYNAMODB_|NODE_OPTIONS$|TABLE$|PORT$)/i.test(name)),
  ) as NodeJS.ProcessEnv;
  return {
    ...env,
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/.aws/credentials',
    AWS_CONFIG_FILE: '/nonexistent/.aws/config',
    // A guard only: with no credentials anywhere the store does not run the chain that would ask it.
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

export interface Started {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects if the process ends first or time runs out. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** Signals the whole process group (npm, npx, tsx, node, java), as Ctrl-C in a terminal would. */
  signal(signal: NodeJS.Signals): void;
  /** Resolves when the group's leader has exited. */
  readonly exited: Promise<unknown>;
  /** signal(), waits for the leader, then kills whatever of the group outlived it. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function startGroup(command: string, cwd: string, env: NodeJS.ProcessEnv): Started {
  const child = spawn('/bin/sh', ['-c', command], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = once(child, 'exit');
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is gone
    }
  };
  return {
    child,
    exited,
    signal: signalGroup,
    output: () => out,
    waitFor(pattern, timeoutMs) {
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(() => finish(new Error(`no ${pattern} within ${timeoutMs} ms from \`${command}\`:\n${out}`)), timeoutMs);
        const check = () => {
          const m = pattern.exec(out);
          if (m) finish(undefined, m);
        };
        const onExit = () => finish(new Error(`\`${command}\` exited before printing ${pattern}:\n${out}`));
        const finish = (err?: Error, m?: RegExpExecArray) => {
          clearTimeout(timer);
          child.stdout!.off('data', check);
          child.stderr!.off('data', check);
          child.off('exit', onExit);
          if (err) reject(err);
          else resolvePromise(m!);
        };
        child.stdout!.on('data', check);
        child.stderr!.on('data', check);
        child.once('exit', onExit);
        check();
      });
    },
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) {
        signalGroup(signal);
        const timer = setTimeout(() => signalGroup('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      // Whatever of the group outlived its leader.
      signalGroup('SIGKILL');
    },
  };
}

export const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export const portFree = (port: number) =>
  new Promise<boolean>((resolvePromise) => {
    const probe = createServer();
    probe.once('error', () => resolvePromise(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePromise(true)));
  });
