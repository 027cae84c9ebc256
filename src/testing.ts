/**
 * `dynamodb-session-manager/testing`: what tests, tools and local development
 * use, kept out of the root entry so that an application's imports stay few.
 * DynamoDB Local and dynalite in-process, the resolved options and their
 * defaults, and the context.xml readers beyond `loadContextXml`.
 */
export { startDynamoDBLocal } from './embedded/dynamodb-local.js';
export type { EmbeddedDynamoDB, EmbeddedDynamoDBOptions } from './embedded/dynamodb-local.js';
export { startDynalite } from './embedded/dynalite.js';
export type { EmbeddedDynalite } from './embedded/dynalite.js';
export { DEFAULTS } from './config/options.js';
export { resolveConfig } from './config/resolve-config.js';
export { parseContextXml, loadContextXmlDetailed, parseContextXmlDetailed } from './config/context-xml.js';
export type { ContextXmlResult } from './config/context-xml.js';
