/** A worker that cannot listen exits with this code, so the primary stops instead of restarting it. */
export const EXIT_CANNOT_LISTEN = 78;
