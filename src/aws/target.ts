/**
 * Where the store's requests go, and why: the endpoint and the region, each
 * with its source, for messages and for the placeholder-keys rule.
 *
 * The AWS SDK finds a configured endpoint itself when the client is given none
 * (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, then the profile's `services`
 * section and `endpoint_url` in the shared config file, all skipped under
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), so the client is not given these: the
 * SDK sends there. This reads the same inputs in the same order only to say so;
 * it reads the files synchronously because a store's messages are built when
 * it is (the SDK's own ini parser is not exported).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FALLBACK_REGION, type ResolvedConfig } from '../config/options.js';

export interface Target {
  /** undefined: the region's DynamoDB endpoint, as the SDK builds it. */
  endpoint?: { url: string; from: string };
  region: { name: string; from: string };
}

type Ini = Map<string, Map<string, string>>;

/** An AWS shared config/credentials file: section → key → value; a sub-property as `parent.key`, as the SDK flattens it. */
function readIni(path: string): Ini | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const ini: Ini = new Map();
  let section: Map<string, string> | undefined;
  let parent: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*([#;]|$)/.test(line)) continue;
    const header = /^\s*\[\s*([^\]]+?)\s*\]/.exec(line);
    if (header) {
      const name = header[1]!.replace(/\s+/g, ' ');
      section = ini.get(name) ?? new Map();
      ini.set(name, section);
      parent = undefined;
      continue;
    }
    const pair = /^(\s*)([^=\s]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!pair || !section) continue;
    const [, indent, key, value] = pair as unknown as [string, string, string, string];
    if (indent && parent) section.set(`${parent}.${key}`, value);
    else if (!indent) {
      parent = value === '' ? key : undefined;
      if (value !== '') section.set(key, value);
    }
  }
  return ini;
}

const home = (): string => process.env.HOME || homedir();
const configPath = (): string => process.env.AWS_CONFIG_FILE || join(home(), '.aws', 'config');
const credentialsPath = (): string => process.env.AWS_SHARED_CREDENTIALS_FILE || join(home(), '.aws', 'credentials');
const profileName = (): string => process.env.AWS_PROFILE || 'default';

/** The profile's settings in the config file (`[profile x]`, or `[default]`). */
function configProfile(ini: Ini | undefined, profile: string): Map<string, string> | undefined {
  return profile === 'default' ? (ini?.get('default') ?? ini?.get('profile default')) : ini?.get(`profile ${profile}`);
}

/** The endpoint the SDK picks when the client has none, with where it was found. */
function configuredEndpoint(): Target['endpoint'] {
  const env = process.env;
  const profile = profileName();
  const config = readIni(configPath());
  const settings = configProfile(config, profile);
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === undefined && settings?.get('ignore_configured_endpoint_urls') === 'true') return undefined;
  for (const name of ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL']) {
    if (env[name]) return { url: env[name]!, from: name };
  }
  const services = settings?.get('services');
  const service = services === undefined ? undefined : config?.get(`services ${services}`)?.get('dynamodb.endpoint_url');
  if (service) return { url: service, from: `[services ${services}] dynamodb.endpoint_url of profile ${profile} in ${configPath()}` };
  const global = settings?.get('endpoint_url');
  if (global) return { url: global, from: `endpoint_url of profile ${profile} in ${configPath()}` };
  return undefined;
}

/** The region when the options give none: what regionProvider() in client.ts resolves, read synchronously. */
function defaultRegion(): Target['region'] {
  const { AWS_REGION, AWS_DEFAULT_REGION } = process.env;
  if (AWS_REGION) return { name: AWS_REGION, from: 'AWS_REGION' };
  if (AWS_DEFAULT_REGION) return { name: AWS_DEFAULT_REGION, from: 'AWS_DEFAULT_REGION' };
  const profile = profileName();
  // The SDK looks in the credentials file first for the region (NODE_REGION_CONFIG_FILE_OPTIONS), then in config.
  const region = readIni(credentialsPath())?.get(profile)?.get('region') ?? configProfile(readIni(configPath()), profile)?.get('region');
  if (region) return { name: region, from: `profile ${profile}` };
  return { name: FALLBACK_REGION, from: 'default' };
}

export function resolveTarget(config: ResolvedConfig): Target {
  const region = config.region ? { name: config.region, from: 'option "region"' } : defaultRegion();
  const endpoint = config.endpoint ? { url: config.endpoint, from: 'option "endpoint"' } : configuredEndpoint();
  return endpoint ? { endpoint, region } : { region };
}

/**
 * The target in words, for every message about a refused or unanswered call:
 * `endpoint http://127.0.0.1:8000 (AWS_ENDPOINT_URL_DYNAMODB), region us-east-1 (default)`
 * or `region eu-west-1 (AWS_REGION)` (its DynamoDB endpoint).
 */
export function describeTarget(config: ResolvedConfig): string {
  if (config.client) return 'the DynamoDBClient of the "client" option';
  const { endpoint, region } = resolveTarget(config);
  const where = `${endpoint ? `endpoint ${endpoint.url} (${endpoint.from}), ` : ''}region ${region.name} (${region.from})`;
  // The name this project's own commands once used: not an AWS convention, so the SDK never reads it.
  const legacy =
    process.env.DYNAMODB_ENDPOINT && process.env.DYNAMODB_ENDPOINT !== endpoint?.url
      ? '; DYNAMODB_ENDPOINT is set but not read: use AWS_ENDPOINT_URL_DYNAMODB'
      : '';
  return where + legacy;
}
