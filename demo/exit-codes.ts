/**
 * Why a worker could not listen, told to the primary by its exit code: the
 * primary says it once (every worker fails the same way) and stops instead of
 * restarting workers.
 */
export const EXIT_PORT_IN_USE = 78;
export const EXIT_PORT_DENIED = 77;
/** Any other listen error: the worker printed it. */
export const EXIT_CANNOT_LISTEN = 79;

export const CANNOT_LISTEN = new Set([EXIT_PORT_IN_USE, EXIT_PORT_DENIED, EXIT_CANNOT_LISTEN]);
