/** What `trackDevices` keeps of the request that creates a session. */
export interface Device {
  userAgent?: string;
  ip?: string;
}

/**
 * The device from what an entry knows of its request: the User-Agent header and
 * the client's address (its framework's view, which follows its proxy setting).
 * Every entry goes through here, so `trackDevices` records the same in each.
 */
export function deviceOf(userAgent: string | string[] | null | undefined, ip: string | null | undefined): Device {
  const agent = Array.isArray(userAgent) ? userAgent[0] : userAgent;
  return { ...(agent ? { userAgent: agent } : {}), ...(ip ? { ip } : {}) };
}
