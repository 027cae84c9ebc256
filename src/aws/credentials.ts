/**
 * Which AWS credentials the store signs with, in the seed's order of precedence:
 * explicit keys (context.xml AwsAccessKey/AwsSecretKey) → a .properties
 * credentials file (AwsCredentialsFile) → the SDK's default Node chain
 * (environment, shared config/credentials files and profiles, web identity
 * token file, container credentials, EC2 instance metadata).
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { ResolvedConfig } from '../config/options.js';
import { readCredentialsFile } from '../config/properties.js';
import { CredentialsError } from '../errors.js';
import { describeTarget, resolveTarget } from './target.js';

export type CredentialSource = 'explicit' | 'credentials-file' | 'default-chain' | 'placeholder';

export interface CredentialsChoice {
  source: CredentialSource;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

export interface CredentialsDescription {
  source: CredentialSource;
  /** Where the credentials came from, in words; never a key. */
  detail: string;
  /** The access key id shortened to its last 4 characters. */
  accessKeyIdHint: string;
}

/**
 * The credentials to give the DynamoDB client. A credentials file is read now,
 * so a missing file or key is a CredentialsError when the store is built, as
 * it was at Tomcat start-up, not on the first request.
 */
export function credentialsFor(config: ResolvedConfig, onPlaceholder?: () => void): CredentialsChoice {
  if (config.accessKeyId !== undefined && config.secretAccessKey !== undefined) {
    return {
      source: 'explicit',
      credentials: {
        accessKeyId: config.accessKeyId,
        secretAccessKey: config.secretAccessKey,
        ...(config.sessionToken !== undefined ? { sessionToken: config.sessionToken } : {}),
      },
    };
  }
  if (config.credentialsFile !== undefined) {
    return { source: 'credentials-file', credentials: readCredentialsFile(config.credentialsFile) };
  }
  const chain = defaultChain(config);
  // The endpoint as the SDK will find it: an option, or AWS_ENDPOINT_URL_DYNAMODB and the other AWS settings.
  return { source: 'default-chain', credentials: isLoopbackEndpoint(resolveTarget(config).endpoint?.url) ? orPlaceholder(chain, onPlaceholder) : chain };
}

/** True for an endpoint on this machine: localhost, 127.0.0.0/8 or [::1]. */
export function isLoopbackEndpoint(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return false;
  let host: string;
  try {
    host = new URL(endpoint).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Signs requests to an engine on this machine when no AWS credentials exist: DynamoDB Local and dynalite check none. */
const PLACEHOLDER: AwsCredentialIdentity = Object.freeze({ accessKeyId: 'local', secretAccessKey: 'local' });

// Where the default chain would find credentials without asking the network.
const LOCAL_INPUTS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
];
const sharedFileExists = (): boolean => {
  const home = process.env.HOME || homedir();
  return (
    existsSync(process.env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials')) ||
    existsSync(process.env.AWS_CONFIG_FILE || join(home, '.aws', 'config'))
  );
};

/**
 * For an endpoint on this machine (DynamoDB Local): the default chain when
 * something could answer it, and placeholder keys when nothing does, rather
 * than a CredentialsError. With no input at all the chain is not run: its last
 * step asks the EC2 instance metadata service over the network, a second's
 * stall off EC2 for keys the local engine ignores. Never used for any other endpoint.
 */
function orPlaceholder(chain: AwsCredentialIdentityProvider, onPlaceholder: (() => void) | undefined): AwsCredentialIdentityProvider {
  const placeholder = () => {
    onPlaceholder?.();
    return PLACEHOLDER;
  };
  return async (properties) => {
    if (!LOCAL_INPUTS.some((name) => process.env[name]) && !sharedFileExists()) return placeholder();
    try {
      return await chain(properties);
    } catch (err) {
      if (err instanceof CredentialsError) return placeholder();
      throw err;
    }
  };
}

// Names only: which inputs of the chain this process has, so the message points at the one that failed.
const CHAIN_INPUTS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_EC2_METADATA_DISABLED',
];

/**
 * The SDK's default Node chain. Its own final error, "Could not load credentials
 * from any providers", says neither where it looked nor what to do, and would reach
 * the application as a refused DynamoDB call; it becomes a CredentialsError that does.
 */
function defaultChain(config: ResolvedConfig): AwsCredentialIdentityProvider {
  // The chain memoizes what it finds and refreshes temporary credentials before they expire.
  let chain: AwsCredentialIdentityProvider | undefined;
  return async (properties) => {
    // The providers are loaded at the first call, not at import: a cold start (AWS Lambda) that never
    // signs a request does not pay for them, and every input of the chain is read at call time anyway.
    // A literal import(): bundlers still include them.
    if (!chain) {
      const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
      chain ??= fromNodeProviderChain();
    }
    try {
      return await chain(properties);
    } catch (err) {
      const set = CHAIN_INPUTS.filter((name) => process.env[name]);
      // SDK provider errors name the step that failed, never a key: safe to keep as the cause.
      throw new CredentialsError(
        'no AWS credentials found: give accessKeyId and secretAccessKey (context.xml AwsAccessKey/AwsSecretKey), ' +
          'or credentialsFile (AwsCredentialsFile), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE ' +
          'with ~/.aws/credentials, or run where a role is attached (ECS/EKS task role, EC2 instance profile)' +
          (set.length > 0 ? `; set in this process: ${set.join(', ')}` : '') +
          (err instanceof Error ? ` (SDK: ${err.message.split('\n')[0]})` : '') +
          `; requests go to ${describeTarget(config)}`,
        { cause: err },
      );
    }
  };
}

// The SDK tags what the default chain finds with feature ids ($source); these name the step that answered.
const CHAIN_STEPS: Array<[feature: string, detail: () => string]> = [
  ['CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN', () => `web identity token file (AWS_WEB_IDENTITY_TOKEN_FILE), role ${process.env.AWS_ROLE_ARN ?? '?'} via STS`],
  ['CREDENTIALS_PROFILE_STS_WEB_ID_TOKEN', () => `web identity token file of profile "${profileName()}", via STS`],
  ['CREDENTIALS_STS_ASSUME_ROLE', () => `role assumed by profile "${profileName()}" of the shared config files`],
  ['CREDENTIALS_PROFILE_SSO', () => `IAM Identity Center (SSO) profile "${profileName()}"`],
  ['CREDENTIALS_PROFILE_SSO_LEGACY', () => `IAM Identity Center (SSO) profile "${profileName()}"`],
  ['CREDENTIALS_PROFILE_PROCESS', () => `credential_process of profile "${profileName()}"`],
  ['CREDENTIALS_PROFILE_LOGIN', () => `console login session of profile "${profileName()}"`],
  ['CREDENTIALS_PROFILE', () => `shared credentials/config files (${sharedFiles()}), profile "${profileName()}"`],
  ['CREDENTIALS_ENV_VARS', () => 'environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY'],
  ['CREDENTIALS_HTTP', () => `container credentials endpoint (${containerVariable()})`],
  ['CREDENTIALS_IMDS', () => 'EC2 instance metadata service (IMDS)'],
];

const profileName = (): string => process.env.AWS_PROFILE || 'default';
const sharedFiles = (): string =>
  `${process.env.AWS_SHARED_CREDENTIALS_FILE ?? '~/.aws/credentials'}, ${process.env.AWS_CONFIG_FILE ?? '~/.aws/config'}`;
const containerVariable = (): string =>
  process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ? 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI' : 'AWS_CONTAINER_CREDENTIALS_FULL_URI';

function chainStep(identity: AwsCredentialIdentity): string {
  const features = (identity as { $source?: Record<string, unknown> }).$source ?? {};
  const step = CHAIN_STEPS.find(([feature]) => feature in features);
  if (step) return `default chain: ${step[1]()}`;
  // The chain's own remote fallbacks (ECS metadata, IMDS) leave no tag; the environment tells which one ran.
  const container = process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  return `default chain: ${container ? `container credentials endpoint (${containerVariable()})` : 'EC2 instance metadata service (IMDS)'}`;
}

const hint = (accessKeyId: string): string => `…${accessKeyId.slice(-4)}`;

/**
 * Resolves the credentials the store would use and says where they came from,
 * for diagnostics: the access key id is cut to its last 4 characters, and
 * nothing of the secret or the session token is returned.
 */
export async function describeCredentials(config: ResolvedConfig): Promise<CredentialsDescription> {
  const { source, credentials } = credentialsFor(config);
  if (source === 'explicit') {
    const identity = credentials as AwsCredentialIdentity;
    return {
      source,
      detail: `options accessKeyId/secretAccessKey (context.xml AwsAccessKey/AwsSecretKey)${identity.sessionToken ? ' with a session token' : ''}`,
      accessKeyIdHint: hint(identity.accessKeyId),
    };
  }
  if (source === 'credentials-file') {
    return {
      source,
      detail: `credentials file ${resolve(config.credentialsFile!)} (accessKey, secretKey)`,
      accessKeyIdHint: hint((credentials as AwsCredentialIdentity).accessKeyId),
    };
  }

  // Outside a client the chain's STS calls have no region of their own; lend them the configured one.
  const region = config.region;
  const identity = await (credentials as AwsCredentialIdentityProvider)(
    region === undefined ? undefined : { callerClientConfig: { region: async () => region } },
  );
  if (identity === PLACEHOLDER) {
    return {
      source: 'placeholder',
      detail: `placeholder keys: no AWS credentials found, and endpoint ${resolveTarget(config).endpoint?.url} is on this machine (DynamoDB Local checks none)`,
      accessKeyIdHint: hint(identity.accessKeyId),
    };
  }
  return { source, detail: chainStep(identity), accessKeyIdHint: hint(identity.accessKeyId) };
}
