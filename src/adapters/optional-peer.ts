/**
 * Optional peers loaded where they are used, not when an entry is imported:
 * an app that gives our store to its own plugin registration need not have
 * the packages our own registration would use, and a process pays for a
 * module only when it calls into it. `load` must be a literal `import('…')`,
 * so that bundlers (esbuild, webpack) still see and include the package.
 */
import { MissingPeerError } from '../errors.js';

/** The module `load` imports, or a MissingPeerError naming `packageName` when it is not installed. */
export async function optionalPeer<T>(packageName: string, feature: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    // Only the package itself missing; a module missing inside it is its own problem, left as it is.
    const code = (err as { code?: string }).code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && (err as Error).message.includes(`'${packageName}'`)) {
      throw new MissingPeerError(packageName, feature, { cause: err });
    }
    throw err;
  }
}
