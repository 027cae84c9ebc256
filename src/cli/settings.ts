/**
 * Where the CLI's store options come from, strongest first: command-line flags,
 * environment variables, the context.xml given, the library's defaults.
 */
import { loadContextXmlDetailed } from '../config/context-xml.js';
import type { SessionStoreOptions } from '../config/options.js';

/** The flags every command takes (commander's camel-cased names). */
export interface CommonFlags {
  table?: string;
  region?: string;
  endpoint?: string;
  profile?: string;
  contextXml?: string;
  userIndex?: string | boolean;
}

/** The environment variables the CLI reads, beside the AWS SDK's own (AWS_PROFILE, AWS_ACCESS_KEY_ID, …). */
export const ENVIRONMENT = {
  DSM_TABLE: 'table name',
  DSM_REGION: 'AWS Region (else AWS_REGION, AWS_DEFAULT_REGION)',
  DSM_ENDPOINT: 'endpoint URL, e.g. DynamoDB Local (else the AWS SDK\'s own: AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, the profile\'s services section)',
  DSM_CONTEXT_XML: 'path of a Tomcat context.xml to read',
  DSM_USER_INDEX: 'name of the userId index',
} as const;

export interface CliSettings {
  options: SessionStoreOptions;
  /** context.xml attributes this library does not use, for a warning. */
  ignored: string[];
}

const env = (name: string): string | undefined => {
  const v = process.env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
};

export function resolveSettings(flags: CommonFlags): CliSettings {
  const contextXml = flags.contextXml ?? env('DSM_CONTEXT_XML');
  const fromXml = contextXml ? loadContextXmlDetailed(contextXml) : { options: {}, ignored: [] };
  const options: SessionStoreOptions = { ...fromXml.options };
  if (flags.profile !== undefined) {
    // A profile asked for on the command line beats keys written in a context.xml.
    process.env.AWS_PROFILE = flags.profile;
    delete options.accessKeyId;
    delete options.secretAccessKey;
    delete options.credentialsFile;
  }
  const table = flags.table ?? env('DSM_TABLE');
  const region = flags.region ?? env('DSM_REGION') ?? env('AWS_REGION') ?? env('AWS_DEFAULT_REGION');
  const endpoint = flags.endpoint ?? env('DSM_ENDPOINT');
  // A bare --user-index reaches here as '' (program.ts attaches its value): the default name.
  const userIndex = flags.userIndex === '' ? true : (flags.userIndex ?? env('DSM_USER_INDEX'));
  if (table !== undefined) options.table = table;
  if (region !== undefined) options.region = region;
  if (endpoint !== undefined) options.endpoint = endpoint;
  if (userIndex !== undefined) options.userIndex = userIndex;
  return { options, ignored: fromXml.ignored };
}
