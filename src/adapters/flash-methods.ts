/** What the Express, Koa and Fastify entries add to their framework's request for flash messages (core/flash.ts). */
export interface FlashMethods {
  /** Sets a flash message for a later request to show once (`takeFlash`); stored with the session. */
  flash(name: string, value: unknown): void;
  /**
   * The flash message `name`, taken out of the session: of all requests that loaded it, only one
   * gets it (a conditional write decides, before the value is shown).
   */
  takeFlash<T = unknown>(name: string): Promise<T | undefined>;
}
