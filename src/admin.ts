/**
 * The root entry's admin functions, typed on the `SessionStore` an
 * application holds. Inside, they take the store's shared parts
 * (core/store-context.ts), which are not part of the public API.
 */
import { contextOf, type SessionStore } from './store/session-store.js';
import { purgeExpired as purge, type PurgeOptions, type PurgeProgress } from './core/purge.js';
import { startReaper as reaper, type Reaper, type ReaperOptions } from './core/reaper.js';
import { destroyUserSessions as destroyUser, listUserSessionKeys as userKeys, type UserSessionsResult } from './core/user-sessions.js';

/** Deletes expired sessions (a segmented Scan and conditional deletes); as `store.purgeExpired(options)`. */
export const purgeExpired = (store: SessionStore, options?: PurgeOptions): Promise<PurgeProgress> => purge(contextOf(store), options);

/** Purges expired sessions every `intervalMs`, one server at a time (a lease item), for engines without TTL. */
export const startReaper = (store: SessionStore, options: ReaperOptions): Reaper => reaper(contextOf(store), options);

/** Deletes every session of a user ("log out everywhere"); as `store.destroyUserSessions(userId)`. Resolves to how many. */
export const destroyUserSessions = (store: SessionStore, userId: string): Promise<number> => destroyUser(contextOf(store), userId);

/** The table keys of a user's sessions, expired ones included until deleted; `store.listUserSessions(userId)` gives the live ones with their devices. */
export const listUserSessionKeys = (store: SessionStore, userId: string): Promise<UserSessionsResult> => userKeys(contextOf(store), userId);
