/**
 * The session of one request on the entries without a session middleware of
 * their own (Hono, node:http, the Web-standard ones): its data, its state, and
 * the operations that need the store (regenerate, destroy, flash). Made by
 * ServerSessions.open() (server-session.ts), which also ends it.
 */
import { contextOf, type SessionData, type SessionHandle, type SessionStore } from '../store/session-store.js';
import { ConfigError } from '../errors.js';
import { putFlash, takeFlash } from '../core/flash.js';

export type State = 'new' | 'loaded' | 'regenerated' | 'destroyed';

/** What a session asks of the sessions that opened it (ServerSessions): their store, and a fresh id. */
export interface SessionOwner {
  readonly store: SessionStore;
  newId(): string;
}

/** The session of one request: a plain data object plus the operations that need the store. */
export class RequestSession {
  #id: string;
  #data: SessionData;
  #state: State;
  #handle: SessionHandle | undefined;
  /** express-session's cookie metadata from the stored item, carried through unchanged. */
  readonly #cookieMeta: unknown;
  readonly #manager: SessionOwner;
  /** The request came with a session cookie or id header (so a destroy must clear it). */
  readonly hadCookie: boolean;
  /** @internal The version floor the request's version cookie gave, if any. */
  minVersion: number | undefined;
  /** @internal False when the adapter's `keepAlive` rule leaves this request out: it does not extend the session. Set by the adapter after open(). */
  keepAlive = true;

  /** @internal */
  constructor(manager: SessionOwner, id: string, loaded: { data: SessionData; handle: SessionHandle } | undefined, hadCookie: boolean) {
    this.#manager = manager;
    this.#id = id;
    this.hadCookie = hadCookie;
    if (loaded) {
      const { cookie, ...data } = loaded.data;
      this.#cookieMeta = cookie;
      this.#data = data;
      this.#handle = loaded.handle;
      this.#state = 'loaded';
    } else {
      this.#data = {};
      this.#state = 'new';
    }
  }

  get id(): string {
    return this.#id;
  }

  /** True until the session has been stored once. */
  get isNew(): boolean {
    return this.#state !== 'loaded';
  }

  get destroyed(): boolean {
    return this.#state === 'destroyed';
  }

  /** The session's data: read it, change it in place, or use get/set/delete. */
  get data(): SessionData {
    return this.#data;
  }

  get<T = unknown>(key: string): T | undefined {
    return this.#data[key] as T | undefined;
  }

  set(key: string, value: unknown): this {
    if (key === 'cookie') {
      throw new ConfigError('session key "cookie" is reserved for the cookie metadata express-session keeps beside the data: use another name');
    }
    this.#data[key] = value;
    return this;
  }

  delete(key: string): boolean {
    const had = key in this.#data;
    delete this.#data[key];
    return had;
  }

  /** Empties the data, keeping the id. */
  clear(): void {
    this.#data = {};
  }

  /** Sets a flash message for a later request to show once (`takeFlash`); stored with the session. */
  flash(name: string, value: unknown): this {
    putFlash(this.#data, name, value);
    return this;
  }

  /**
   * The flash message `name`, taken out of the session: of all requests that
   * loaded it, only one gets it (a conditional write decides, before the value
   * is shown); the others, and later ones, get undefined.
   */
  takeFlash<T = unknown>(name: string): Promise<T | undefined> {
    return takeFlash(contextOf(this.#manager.store), this.#handle, this.#data, name) as Promise<T | undefined>;
  }

  /**
   * A new id for the same data (do it on login, against session fixation): the
   * old item is deleted now, the new one written when the request ends.
   */
  async regenerate(options: { freshStart?: boolean } = {}): Promise<void> {
    if (this.#state === 'loaded') {
      await this.#manager.store.destroy(this.#id, this.#handle, 'regenerate');
      // The new id keeps the first session's creation time (maxLifetime counts from it), unless a fresh start is asked for.
      this.replaces = this.#handle;
      this.freshStart = options.freshStart === true;
    }
    this.#handle = undefined;
    this.#id = this.#manager.newId();
    this.#state = 'regenerated';
  }

  /** @internal The session a regenerated one replaces. */
  replaces: SessionHandle | undefined;
  /** @internal */
  freshStart = false;
  /** @internal Where the request came from, for `trackDevices`. */
  device: { userAgent?: string; ip?: string } | undefined;
  /** @internal The request came over HTTPS: its cookies are `Secure` unless `cookie.secure` says otherwise. */
  https = false;
  /** @internal This request destroyed its session itself (a racing request's save finding it gone did not). */
  destroyedHere = false;

  /** @internal A new session's id was taken by another session: it takes another, before anything of it is stored. */
  drawNewId(): void {
    this.#id = this.#manager.newId();
  }

  /** Deletes the session now; the response clears the cookie. Another request holding it cannot bring it back. */
  async destroy(): Promise<void> {
    if (this.#state === 'loaded') await this.#manager.store.destroy(this.#id, this.#handle);
    this.#handle = undefined;
    this.#data = {};
    this.#state = 'destroyed';
    this.destroyedHere = true;
  }

  /** @internal */
  get handle(): SessionHandle | undefined {
    return this.#handle;
  }

  /** @internal */
  get state(): State {
    return this.#state;
  }

  /** @internal What is stored: the data with express-session's cookie metadata beside it. */
  stored(cookieMeta: () => unknown): SessionData {
    return { cookie: this.#cookieMeta ?? cookieMeta(), ...this.#data };
  }
}
