/**
 * The Tomcat manager's `AwsCredentialsFile`: a Java .properties file holding
 * `accessKey` and `secretKey`. Every message here names the file and the key,
 * never a value: this file's whole content is a secret.
 */
import { readFileSync } from 'node:fs';
import { getProperties } from 'properties-file';
import { CredentialsError } from '../errors.js';

const KEYS = ['accessKey', 'secretKey'] as const;

const readProblem = (err: NodeJS.ErrnoException): string => {
  switch (err.code) {
    case 'ENOENT':
      return 'does not exist: check the path (a relative AwsCredentialsFile in context.xml is resolved against the directory of context.xml)';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read by this process: give the user running the server read permission on it';
    case 'EISDIR':
      return 'is a directory: point credentialsFile at the .properties file itself';
    default:
      return `cannot be read (${err.code ?? 'unknown error'}): check the path and its permissions`;
  }
};

/** Reads `accessKey` and `secretKey` from a .properties file, as the Tomcat manager's PropertiesCredentials did. */
export function readCredentialsFile(path: string): { accessKeyId: string; secretAccessKey: string } {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (err) {
    // An fs error carries the path and an errno only, so it is safe to keep as the cause.
    throw new CredentialsError(`credentials file ${path} ${readProblem(err as NodeJS.ErrnoException)}`, { cause: err });
  }

  let properties: Record<string, string>;
  try {
    properties = getProperties(content);
  } catch {
    // The parser quotes the offending characters, which may be part of the secret: drop its message and cause.
    throw new CredentialsError(
      `credentials file ${path} is not a valid .properties file (a malformed \\uXXXX escape): ` +
        'write the keys as plain "accessKey=…" and "secretKey=…" lines',
    );
  }

  // Java's PropertiesCredentials trims both values; a blank value counts as missing.
  const values = KEYS.map((key) => properties[key]?.trim() ?? '');
  const missing = KEYS.filter((_, i) => values[i] === '');
  if (missing.length > 0) {
    const present = Object.keys(properties).filter((k) => !KEYS.includes(k as (typeof KEYS)[number]));
    const near = present.find((k) => missing.some((m) => m.toLowerCase() === k.toLowerCase()));
    throw new CredentialsError(
      `credentials file ${path} has no ${missing.map((k) => `"${k}"`).join(' and ')} property: ` +
        `it must hold the lines "accessKey=<access key id>" and "secretKey=<secret access key>"` +
        (near ? ` (key names are case-sensitive: found "${near}")` : ''),
    );
  }
  return { accessKeyId: values[0]!, secretAccessKey: values[1]! };
}
