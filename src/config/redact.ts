/** What the store prints of its config: the secrets in it redacted. */
import type { ResolvedConfig } from './options.js';

/** What stands in a printable config for a secret that is set. */
export const REDACTED = '[redacted]';

/**
 * `config` as the store shows it (`store.config`, util.inspect, JSON): the
 * secret access key, the session token, the id-hashing secret and every
 * encryption key replaced by REDACTED, whether they are set still visible.
 * The store keeps the real ones where nothing prints them.
 */
export function redactConfig(config: ResolvedConfig): ResolvedConfig {
  const hide = <T>(value: T | undefined): T | string | undefined => (value === undefined ? undefined : REDACTED);
  return Object.freeze({
    ...config,
    secretAccessKey: hide(config.secretAccessKey) as string | undefined,
    sessionToken: hide(config.sessionToken) as string | undefined,
    hashSessionIds: hide(config.hashSessionIds) as string | undefined,
    encryptionKeys: Object.freeze(config.encryptionKeys.map(({ id }) => Object.freeze({ id, key: REDACTED }))),
  });
}
