/**
 * How a save ended: `written` (this request's data stored), `merged` (stored
 * after folding in another request's newer write, or found already contained
 * in it: `version` is then the stored one), `destroyed` (the session was gone,
 * nothing written). `json` is what the item holds afterwards.
 */
export interface SaveResult {
  outcome: 'written' | 'merged' | 'destroyed';
  version: number;
  json: string;
}
