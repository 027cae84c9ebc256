import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentialsFor, describeCredentials, isLoopbackEndpoint } from '../src/aws/credentials.js';
import { parseContextXml } from '../src/config/context-xml.js';
import { type SessionStoreOptions } from '../src/config/options.js';
import { resolveConfig } from '../src/config/resolve-config.js';
import { readCredentialsFile } from '../src/config/properties.js';
import { ConfigError, CredentialsError } from '../src/errors.js';
import { bundled } from './helpers/bundle.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PROBE = join(ROOT, 'test', 'fixtures', 'credentials-probe.ts');

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

// Distinct, realistic-looking fake values for each source, so a wrong source is visible in the result.
const KEYS = {
  explicit: { id: 'AKIAEXPLICIT00000001', secret: 'explicitSecret/K7MDENG/bPxRfiCYEXAMPLE01' },
  file: { id: 'AKIAFILE000000000002', secret: 'fileSecret/K7MDENG/bPxRfiCYEXAMPLEKEY002' },
  env: { id: 'AKIAENV0000000000003', secret: 'envSecret/K7MDENG/bPxRfiCYEXAMPLEKEY0003' },
  profile: { id: 'AKIAPROFILE000000004', secret: 'profileSecret/K7MDENG/bPxRfiCYEXAMPLE004' },
  webIdentity: { id: 'ASIAWEBIDENTITY00005', secret: 'webIdentitySecret/K7MDENG/bPxRfiCYEX0005', token: 'webIdentitySessionToken0005' },
  container: { id: 'ASIACONTAINER0000006', secret: 'containerSecret/K7MDENG/bPxRfiCYEXAMP006', token: 'containerSessionToken0006' },
  imds: { id: 'ASIAIMDS000000000007', secret: 'imdsSecret/K7MDENG/bPxRfiCYEXAMPLEKEY007', token: 'imdsSessionToken0007' },
};
const ALL_SECRETS = Object.values(KEYS).flatMap((k) => [k.secret, ...('token' in k ? [k.token] : [])]);

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
interface FakeServer {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

/** A fake AWS endpoint on 127.0.0.1, port 0, recording every request. */
async function fakeServer(handle: (req: Recorded, res: ServerResponse) => void): Promise<FakeServer> {
  const requests: Recorded[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(recorded);
      handle(recorded, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A DynamoDB that answers ListTables, to see the signature of a real request. */
const fakeDynamoDB = () =>
  fakeServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(req.headers['x-amz-target'] === 'DynamoDB_20120810.ListTables' ? '{"TableNames":["probe"]}' : '{}');
  });

/** The access key id and region of a SigV4 Authorization header. */
function signedWith(req: Recorded): { accessKeyId: string; region: string; service: string } {
  const m = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(String(req.headers.authorization));
  assert.ok(m, `no SigV4 Authorization header: ${String(req.headers.authorization)}`);
  return { accessKeyId: m[1]!, region: m[2]!, service: m[3]! };
}

interface ProbeResult {
  target?: string;
  source?: string;
  region?: string;
  accessKeyId?: string;
  secretHash?: string;
  sessionTokenHash?: string;
  description?: { source: string; detail: string; accessKeyIdHint: string };
  tables?: string[];
  error?: { name: string; code: string; message: string };
}

/**
 * A home of its own for each child, with no AWS files unless the case writes
 * them, so the developer's ~/.aws and environment are never read.
 */
function sandbox(): { home: string; env: Record<string, string>; done(): void } {
  const home = mkdtempSync(join(tmpdir(), 'dsm-credentials-'));
  return {
    home,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      USERPROFILE: home,
      AWS_SHARED_CREDENTIALS_FILE: join(home, '.aws', 'credentials'),
      AWS_CONFIG_FILE: join(home, '.aws', 'config'),
      // Off unless a case serves a fake IMDS: the real 169.254.169.254 must never be asked.
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    done: () => rmSync(home, { recursive: true, force: true }),
  };
}

/** Runs the probe in a child process with exactly `env`; also checks that no secret reached its output. */
async function probe(env: Record<string, string | undefined>, options: SessionStoreOptions = {}): Promise<ProbeResult> {
  return (await probeWithOutput(env, options)).result;
}

/** probe(), with everything the child printed beside its result. */
async function probeWithOutput(env: Record<string, string | undefined>, options: SessionStoreOptions = {}): Promise<{ result: ProbeResult; output: string }> {
  const child = spawn(process.execPath, [await bundled(relative(ROOT, PROBE))], {
    cwd: ROOT,
    env: { ...env, DSM_PROBE_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  assert.equal(code, 0, `probe exited with ${code}:\n${output}`);
  for (const secret of ALL_SECRETS) assert.ok(!output.includes(secret), `a secret appeared in the probe's output:\n${output}`);
  const line = output.split('\n').find((l) => l.startsWith('PROBE '));
  assert.ok(line, `no PROBE line in:\n${output}`);
  return { result: JSON.parse(line.slice('PROBE '.length)) as ProbeResult, output };
}

function writeProperties(dir: string, content: string, name = 'aws.properties'): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('credentials file (.properties with accessKey and secretKey)', () => {
  const cases: Array<[string, string, { accessKeyId: string; secretAccessKey: string }]> = [
    ['"=" separators', 'accessKey=AKIAEQUALS0000000001\nsecretKey=equals/Secret+1\n', { accessKeyId: 'AKIAEQUALS0000000001', secretAccessKey: 'equals/Secret+1' }],
    ['":" separators with blanks around them', 'accessKey : AKIACOLON00000000002\nsecretKey:colonSecret2\n', { accessKeyId: 'AKIACOLON00000000002', secretAccessKey: 'colonSecret2' }],
    ['whitespace separators', 'accessKey   AKIASPACE00000000003\nsecretKey\tspaceSecret3\n', { accessKeyId: 'AKIASPACE00000000003', secretAccessKey: 'spaceSecret3' }],
    [
      '# and ! comments, blank lines and other keys',
      '# AWS credentials for the session store\n! accessKey=AKIACOMMENTEDOUT0000\n\n  region = eu-west-1\naccessKey=AKIACOMMENTS00000004\n#secretKey=commented\nsecretKey=commentSecret4\n',
      { accessKeyId: 'AKIACOMMENTS00000004', secretAccessKey: 'commentSecret4' },
    ],
    [
      'backslash escapes, \\uXXXX included',
      'accessKey=AKIA\\u0045SCAPES000005\nsecretKey=slash\\u002Fplus\\u002B\\=equals\\:colon\\\\back\n',
      { accessKeyId: 'AKIAESCAPES000005', secretAccessKey: 'slash/plus+=equals:colon\\back' },
    ],
    [
      'line continuations, leading blanks of the next line dropped',
      'accessKey=AKIACONT\\\n    INUED000006\nsecretKey = first\\\n\t\tsecond\\\n third\n',
      { accessKeyId: 'AKIACONTINUED000006', secretAccessKey: 'firstsecondthird' },
    ],
    ['CRLF line endings, a BOM and trailing blanks', '\ufeffaccessKey=AKIACRLF000000000007  \r\nsecretKey=crlfSecret7 \r\n', { accessKeyId: 'AKIACRLF000000000007', secretAccessKey: 'crlfSecret7' }],
    ['the last of repeated keys', 'accessKey=AKIAFIRST00000000008\naccessKey=AKIALAST000000000008\nsecretKey=s8\n', { accessKeyId: 'AKIALAST000000000008', secretAccessKey: 's8' }],
  ];
  for (const [label, content, expected] of cases) {
    it(`reads ${label}`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'dsm-properties-'));
      try {
        assert.deepEqual(readCredentialsFile(writeProperties(dir, content)), expected);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('a missing file, a directory, a missing key and a mis-cased key are CredentialsErrors naming the file and the key, never a value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsm-properties-'));
    const secret = 'neverShowThisSecret/K7MDENG';
    const expectError = (path: string, ...patterns: RegExp[]) =>
      assert.throws(
        () => readCredentialsFile(path),
        (err: unknown) => {
          assert.ok(err instanceof CredentialsError, String(err));
          assert.equal(err.code, 'DSM_CREDENTIALS');
          assert.ok(err.message.includes(path), err.message);
          for (const p of patterns) assert.match(err.message, p);
          assert.ok(!err.message.includes(secret) && !err.message.includes('AKIAVISIBLE'), err.message);
          assert.ok(!JSON.stringify(err.cause ?? null).includes(secret));
          return true;
        },
      );
    try {
      expectError(join(dir, 'absent.properties'), /does not exist/);
      mkdirSync(join(dir, 'adir'));
      expectError(join(dir, 'adir'), /is a directory/);
      expectError(writeProperties(dir, `accessKey=AKIAVISIBLE000000001\n`, 'nosecret.properties'), /no "secretKey" property/);
      expectError(writeProperties(dir, `secretKey=${secret}\n`, 'noaccess.properties'), /no "accessKey" property/);
      expectError(writeProperties(dir, `accessKey=AKIAVISIBLE000000001\nsecretkey=${secret}\n`, 'case.properties'), /no "secretKey" property.*found "secretkey"/);
      expectError(writeProperties(dir, `accessKey=AKIAVISIBLE000000001\nsecretKey=   \n`, 'blank.properties'), /no "secretKey" property/);
      expectError(writeProperties(dir, '', 'empty.properties'), /no "accessKey" and "secretKey" property/);
      // The parser's own message would quote the characters around a bad escape: part of the secret.
      expectError(writeProperties(dir, `accessKey=AKIAVISIBLE000000001\nsecretKey=${secret.slice(0, 10)}\\u12zz${secret.slice(10)}\n`, 'escape.properties'), /malformed \\uXXXX escape/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('credentials precedence: explicit keys → credentials file → default chain', () => {
  it('explicit keys beat a credentials file, which beats the environment variables (checked on a signed request)', async () => {
    const box = sandbox();
    const dynamo = await fakeDynamoDB();
    try {
      const file = writeProperties(box.home, `accessKey=${KEYS.file.id}\nsecretKey=${KEYS.file.secret}\n`);
      const env = { ...box.env, AWS_ACCESS_KEY_ID: KEYS.env.id, AWS_SECRET_ACCESS_KEY: KEYS.env.secret, AWS_REGION: 'eu-west-1' };
      const base = { endpoint: dynamo.url };

      const explicit = await probe(env, { ...base, accessKeyId: KEYS.explicit.id, secretAccessKey: KEYS.explicit.secret, credentialsFile: file });
      assert.equal(explicit.error, undefined, JSON.stringify(explicit.error));
      assert.equal(explicit.source, 'explicit');
      assert.equal(explicit.accessKeyId, KEYS.explicit.id);
      assert.equal(explicit.secretHash, sha256(KEYS.explicit.secret));
      assert.equal(explicit.description?.source, 'explicit');
      assert.equal(explicit.description?.accessKeyIdHint, '…0001');

      const fromFile = await probe(env, { ...base, credentialsFile: file });
      assert.equal(fromFile.source, 'credentials-file');
      assert.equal(fromFile.accessKeyId, KEYS.file.id);
      assert.equal(fromFile.secretHash, sha256(KEYS.file.secret));
      assert.match(fromFile.description?.detail ?? '', new RegExp(`credentials file ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));

      const fromEnv = await probe(env, base);
      assert.equal(fromEnv.source, 'default-chain');
      assert.equal(fromEnv.accessKeyId, KEYS.env.id);
      assert.equal(fromEnv.secretHash, sha256(KEYS.env.secret));
      assert.match(fromEnv.description?.detail ?? '', /environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
      assert.equal(fromEnv.description?.accessKeyIdHint, '…0003');

      assert.deepEqual(
        dynamo.requests.map((r) => signedWith(r).accessKeyId),
        [KEYS.explicit.id, KEYS.file.id, KEYS.env.id],
      );
    } finally {
      await dynamo.close();
      box.done();
    }
  });

  it('passes an explicit session token through', async () => {
    const box = sandbox();
    try {
      const r = await probe(box.env, { accessKeyId: KEYS.explicit.id, secretAccessKey: KEYS.explicit.secret, sessionToken: 'explicitToken' });
      assert.equal(r.sessionTokenHash, sha256('explicitToken'));
      assert.match(r.description?.detail ?? '', /with a session token/);
    } finally {
      box.done();
    }
  });

  it('default chain: a shared credentials file profile chosen by AWS_PROFILE, with the region of that profile', async () => {
    const box = sandbox();
    try {
      mkdirSync(join(box.home, '.aws'));
      writeFileSync(
        box.env.AWS_SHARED_CREDENTIALS_FILE!,
        `[default]\naws_access_key_id = AKIADEFAULTPROFILE01\naws_secret_access_key = defaultProfileSecret\n\n[app]\naws_access_key_id = ${KEYS.profile.id}\naws_secret_access_key = ${KEYS.profile.secret}\n`,
      );
      writeFileSync(box.env.AWS_CONFIG_FILE!, '[default]\nregion = us-west-2\n\n[profile app]\nregion = ap-southeast-2\n');
      const r = await probe({ ...box.env, AWS_PROFILE: 'app' });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.equal(r.source, 'default-chain');
      assert.equal(r.accessKeyId, KEYS.profile.id);
      assert.equal(r.secretHash, sha256(KEYS.profile.secret));
      assert.match(r.description?.detail ?? '', /shared credentials\/config files .*profile "app"/);
      assert.equal(r.region, 'ap-southeast-2');
      assert.equal(r.target, 'region ap-southeast-2 (profile app)');
    } finally {
      box.done();
    }
  });

  it('default chain: a web identity token file and AWS_ROLE_ARN, exchanged at STS (AWS_ENDPOINT_URL_STS)', async () => {
    const box = sandbox();
    const sts = await fakeServer((req, res) => {
      const form = new URLSearchParams(req.body);
      if (form.get('Action') !== 'AssumeRoleWithWebIdentity') {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:app:web</SubjectFromWebIdentityToken>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/session-store/probe</Arn><AssumedRoleId>AROAEXAMPLE:probe</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${KEYS.webIdentity.id}</AccessKeyId>
      <SecretAccessKey>${KEYS.webIdentity.secret}</SecretAccessKey>
      <SessionToken>${KEYS.webIdentity.token}</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`);
    });
    try {
      const tokenFile = join(box.home, 'token');
      writeFileSync(tokenFile, 'eyJ.web-identity-token.sig');
      const r = await probe({
        ...box.env,
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/session-store',
        AWS_ROLE_SESSION_NAME: 'probe',
        AWS_ENDPOINT_URL_STS: sts.url,
        AWS_REGION: 'eu-west-1',
      });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.equal(r.accessKeyId, KEYS.webIdentity.id);
      assert.equal(r.secretHash, sha256(KEYS.webIdentity.secret));
      assert.equal(r.sessionTokenHash, sha256(KEYS.webIdentity.token));
      assert.match(r.description?.detail ?? '', /web identity token file/);
      assert.ok(sts.requests.length >= 1);
      const form = new URLSearchParams(sts.requests[0]!.body);
      assert.equal(form.get('RoleArn'), 'arn:aws:iam::123456789012:role/session-store');
      assert.equal(form.get('WebIdentityToken'), 'eyJ.web-identity-token.sig');
      assert.equal(form.get('RoleSessionName'), 'probe');
    } finally {
      await sts.close();
      box.done();
    }
  });

  it('default chain: container credentials from AWS_CONTAINER_CREDENTIALS_FULL_URI, with its authorization token', async () => {
    const box = sandbox();
    const container = await fakeServer((req, res) => {
      if (req.url !== '/v2/credentials/probe' || req.headers.authorization !== 'container-auth-token') {
        res.writeHead(403).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          AccessKeyId: KEYS.container.id,
          SecretAccessKey: KEYS.container.secret,
          Token: KEYS.container.token,
          Expiration: '2099-01-01T00:00:00Z',
          RoleArn: 'arn:aws:iam::123456789012:role/task',
        }),
      );
    });
    try {
      const r = await probe({
        ...box.env,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${container.url}/v2/credentials/probe`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-auth-token',
      });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.equal(r.accessKeyId, KEYS.container.id);
      assert.equal(r.secretHash, sha256(KEYS.container.secret));
      assert.equal(r.sessionTokenHash, sha256(KEYS.container.token));
      assert.match(r.description?.detail ?? '', /container credentials endpoint \(AWS_CONTAINER_CREDENTIALS_FULL_URI\)/);
      assert.ok(container.requests.length >= 1);
    } finally {
      await container.close();
      box.done();
    }
  });

  it('default chain: EC2 instance metadata, IMDSv2 token first (AWS_EC2_METADATA_SERVICE_ENDPOINT)', async () => {
    const box = sandbox();
    const imdsToken = 'imdsv2-session-token';
    const imds = await fakeServer((req, res) => {
      if (req.method === 'PUT' && req.url === '/latest/api/token' && req.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
        res.writeHead(200).end(imdsToken);
        return;
      }
      if (req.method !== 'GET' || req.headers['x-aws-ec2-metadata-token'] !== imdsToken) {
        res.writeHead(401).end();
        return;
      }
      if (req.url === '/latest/meta-data/iam/security-credentials/') {
        res.writeHead(200).end('session-store-role');
        return;
      }
      if (req.url === '/latest/meta-data/iam/security-credentials/session-store-role') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(
          JSON.stringify({
            Code: 'Success',
            LastUpdated: '2024-01-01T00:00:00Z',
            Type: 'AWS-HMAC',
            AccessKeyId: KEYS.imds.id,
            SecretAccessKey: KEYS.imds.secret,
            Token: KEYS.imds.token,
            Expiration: '2099-01-01T00:00:00Z',
          }),
        );
        return;
      }
      res.writeHead(404).end();
    });
    try {
      const { AWS_EC2_METADATA_DISABLED: _off, ...env } = box.env;
      const r = await probe({ ...env, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.equal(r.accessKeyId, KEYS.imds.id);
      assert.equal(r.secretHash, sha256(KEYS.imds.secret));
      assert.equal(r.sessionTokenHash, sha256(KEYS.imds.token));
      assert.match(r.description?.detail ?? '', /EC2 instance metadata/);
      assert.ok(imds.requests.some((q) => q.method === 'PUT' && q.url === '/latest/api/token'), 'no IMDSv2 token was asked for');
      assert.ok(imds.requests.filter((q) => q.method === 'GET').every((q) => q.headers['x-aws-ec2-metadata-token'] === imdsToken));
    } finally {
      await imds.close();
      box.done();
    }
  });

  it('no credentials anywhere: the client and describeCredentials fail with a CredentialsError that lists the ways to give them', async () => {
    const box = sandbox();
    try {
      const r = await probe(box.env);
      assert.equal(r.error?.name, 'CredentialsError');
      assert.equal(r.error?.code, 'DSM_CREDENTIALS');
      assert.match(r.error?.message ?? '', /no AWS credentials found: give accessKeyId and secretAccessKey .*credentialsFile .*AWS_ACCESS_KEY_ID/);
      assert.doesNotMatch(r.error?.message ?? '', /set in this process: .*AWS_ACCESS_KEY_ID/);
    } finally {
      box.done();
    }
  });
});

describe('an endpoint on this machine (DynamoDB Local) and no credentials anywhere', () => {
  it('signs with placeholder keys, says so once, and describeCredentials names them', async () => {
    const box = sandbox();
    const dynamo = await fakeDynamoDB();
    try {
      const { result: r, output } = await probeWithOutput(box.env, { endpoint: dynamo.url, region: 'us-east-1' });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.deepEqual(r.tables, ['probe']);
      assert.equal(signedWith(dynamo.requests[0]!).accessKeyId, 'local');
      assert.equal(r.description?.source, 'placeholder');
      assert.match(r.description?.detail ?? '', /placeholder keys: no AWS credentials found, and endpoint http:\/\/127\.0\.0\.1:\d+ is on this machine/);
      assert.equal(output.match(/^LOG warn no AWS credentials found: .*placeholder keys/gm)?.length, 1, output);
    } finally {
      await dynamo.close();
      box.done();
    }
  });

  it('a profile that does not exist falls back to the placeholder keys too; real credentials are used when there are some', async () => {
    const box = sandbox();
    const dynamo = await fakeDynamoDB();
    try {
      const missing = await probe({ ...box.env, AWS_PROFILE: 'nobody' }, { endpoint: dynamo.url.replace('127.0.0.1', 'localhost'), region: 'us-east-1' });
      assert.equal(missing.error, undefined, JSON.stringify(missing.error));
      assert.equal(missing.description?.source, 'placeholder');
      const real = await probe({ ...box.env, AWS_ACCESS_KEY_ID: KEYS.env.id, AWS_SECRET_ACCESS_KEY: KEYS.env.secret }, { endpoint: dynamo.url, region: 'us-east-1' });
      assert.equal(real.accessKeyId, KEYS.env.id);
      assert.equal(real.description?.source, 'default-chain');
    } finally {
      await dynamo.close();
      box.done();
    }
  });

  it('any other endpoint, or none, still fails with the CredentialsError: placeholder keys are for this machine only', async () => {
    const box = sandbox();
    try {
      // Credentials are resolved before a request is signed: these endpoints are never contacted.
      for (const endpoint of ['https://dynamodb.eu-west-1.amazonaws.com', 'http://10.0.0.7:8000', 'http://127.0.0.1.example.com:8000', undefined]) {
        const { result: r, output } = await probeWithOutput(box.env, { region: 'eu-west-1', ...(endpoint ? { endpoint } : {}) });
        assert.equal(r.error?.name, 'CredentialsError', `${endpoint}: ${JSON.stringify(r)}`);
        assert.doesNotMatch(output, /placeholder/, String(endpoint));
      }
    } finally {
      box.done();
    }
  });

  it('isLoopbackEndpoint knows localhost, 127.0.0.0/8 and [::1], and nothing else', () => {
    for (const yes of ['http://localhost:8000', 'http://LOCALHOST:8000', 'http://127.0.0.1:8000', 'https://127.9.8.7', 'http://[::1]:8000', 'http://dynamodb.localhost:8000']) assert.equal(isLoopbackEndpoint(yes), true, yes);
    for (const no of ['http://0.0.0.0:8000', 'http://10.0.0.1:8000', 'http://192.168.1.2:8000', 'https://dynamodb.us-east-1.amazonaws.com', 'http://127.0.0.1.example.com', 'http://localhost.example.com', 'not a url', undefined]) assert.equal(isLoopbackEndpoint(no), false, String(no));
  });
});

describe('no secret in any message', () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYNEVERSHOWN';

  it('resolveConfig errors for one key missing or ill-typed never carry the secret', () => {
    const attempts: unknown[] = [
      { secretAccessKey: secret },
      { accessKeyId: secret },
      { accessKeyId: 42, secretAccessKey: secret },
      { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: secret, sessionToken: 7 },
      { accessKeyId: secret, secretAccessKey: ['x'] },
    ];
    for (const options of attempts) {
      assert.throws(
        () => resolveConfig(options as SessionStoreOptions),
        (err: unknown) => err instanceof ConfigError && !err.message.includes(secret) && !err.message.includes(secret.slice(-12)),
      );
    }
  });

  it('context.xml errors about keys never carry the secret', () => {
    for (const xml of [
      `<Context><Manager AwsAccessKey="${secret}" /></Context>`,
      `<Context><Manager AwsSecretKey="${secret}" awssecretkey="${secret}" /></Context>`,
      `<Context><Manager AwsSecretKey="${secret}" ReadCapacityUnits="x" /></Context>`,
    ]) {
      assert.throws(() => parseContextXml(xml, 'c.xml'), (err: unknown) => err instanceof ConfigError && !err.message.includes(secret));
    }
  });

  it('a bad credentials file used by the store fails with a CredentialsError that names the key, not the secret', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsm-properties-'));
    try {
      const file = writeProperties(dir, `accessKey=AKIAEXAMPLE\nSecretKey=${secret}\n`);
      assert.throws(
        () => credentialsFor(resolveConfig({ credentialsFile: file })),
        (err: unknown) => err instanceof CredentialsError && /no "secretKey" property/.test(err.message) && !err.message.includes(secret),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('describeCredentials shows the last 4 characters of the key id and nothing of the secret', async () => {
    const d = await describeCredentials(resolveConfig({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: secret }));
    assert.deepEqual(d.source, 'explicit');
    assert.equal(d.accessKeyIdHint, '…MPLE');
    assert.ok(!JSON.stringify(d).includes(secret));
    assert.ok(!JSON.stringify(d).includes('AKIAIOSFODNN7EXA'));
  });

  it('a container endpoint that fails leaves no secret in the error or the output of the process', async () => {
    const box = sandbox();
    // Answers with a half-formed body that still holds a secret: it must not surface in the error.
    const container = await fakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ AccessKeyId: KEYS.container.id, SecretAccessKey: KEYS.container.secret }));
    });
    try {
      const r = await probe({ ...box.env, AWS_CONTAINER_CREDENTIALS_FULL_URI: `${container.url}/creds` });
      assert.equal(r.error?.name, 'CredentialsError', JSON.stringify(r));
      assert.match(r.error?.message ?? '', /no AWS credentials found: .*set in this process: AWS_CONTAINER_CREDENTIALS_FULL_URI/);
      assert.ok(container.requests.length >= 1);
      assert.ok(!JSON.stringify(r).includes(KEYS.container.secret));
    } finally {
      await container.close();
      box.done();
    }
  });
});

describe('region: option → AWS_REGION / AWS_DEFAULT_REGION / profile → us-east-1', () => {
  const noCredentials = { DSM_PROBE_CREDENTIALS: 'skip' };

  it('with no region anywhere the client uses us-east-1, the Tomcat manager default', async () => {
    const box = sandbox();
    try {
      const r = await probe({ ...box.env, ...noCredentials });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.equal(r.region, 'us-east-1');
      assert.equal(r.target, 'region us-east-1 (default)');
    } finally {
      box.done();
    }
  });

  it('AWS_REGION wins over the fallback, and over AWS_DEFAULT_REGION', async () => {
    const box = sandbox();
    try {
      const r = await probe({ ...box.env, ...noCredentials, AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'ap-south-1' });
      assert.equal(r.region, 'eu-west-1');
      assert.equal(r.target, 'region eu-west-1 (AWS_REGION)');
      const d = await probe({ ...box.env, ...noCredentials, AWS_DEFAULT_REGION: 'ap-south-1' });
      assert.equal(d.region, 'ap-south-1');
      assert.equal(d.target, 'region ap-south-1 (AWS_DEFAULT_REGION)');
    } finally {
      box.done();
    }
  });

  it('an explicit region wins over AWS_REGION', async () => {
    const box = sandbox();
    try {
      const r = await probe({ ...box.env, ...noCredentials, AWS_REGION: 'eu-west-1' }, { region: 'eu-central-1' });
      assert.equal(r.region, 'eu-central-1');
      assert.equal(r.target, 'region eu-central-1 (option "region")');
    } finally {
      box.done();
    }
  });

  it("an endpoint replaces the region's URL while the region still signs", async () => {
    const box = sandbox();
    const dynamo = await fakeDynamoDB();
    try {
      const r = await probe({ ...box.env, AWS_REGION: 'eu-west-1' }, {
        endpoint: dynamo.url,
        region: 'eu-north-1',
        accessKeyId: KEYS.explicit.id,
        secretAccessKey: KEYS.explicit.secret,
      });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.deepEqual(r.tables, ['probe']);
      assert.equal(r.target, `endpoint ${dynamo.url} (option "endpoint"), region eu-north-1 (option "region")`);
      assert.equal(dynamo.requests.length, 1);
      assert.deepEqual(signedWith(dynamo.requests[0]!), { accessKeyId: KEYS.explicit.id, region: 'eu-north-1', service: 'dynamodb' });
    } finally {
      await dynamo.close();
      box.done();
    }
  });
});

describe("the endpoint and region from AWS's own settings, found as the SDK finds them", () => {
  it('AWS_ENDPOINT_URL_DYNAMODB (before AWS_ENDPOINT_URL) is where requests go, with placeholder keys on this machine, and the target says where each came from', async () => {
    const box = sandbox();
    const dynamo = await fakeDynamoDB();
    try {
      const r = await probe({ ...box.env, AWS_ENDPOINT_URL_DYNAMODB: dynamo.url, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.deepEqual(r.tables, ['probe']);
      assert.equal(r.target, `endpoint ${dynamo.url} (AWS_ENDPOINT_URL_DYNAMODB), region us-east-1 (default)`);
      assert.equal(r.description?.source, 'placeholder');
      assert.equal(signedWith(dynamo.requests[0]!).accessKeyId, 'local');
      const global = await probe({ ...box.env, AWS_ENDPOINT_URL: dynamo.url, AWS_REGION: 'eu-west-1' });
      assert.deepEqual(global.tables, ['probe']);
      assert.equal(global.target, `endpoint ${dynamo.url} (AWS_ENDPOINT_URL), region eu-west-1 (AWS_REGION)`);
    } finally {
      await dynamo.close();
      box.done();
    }
  });

  it("the shared config file: the services section of the profile AWS_PROFILE names, with that profile's region", async () => {
    const box = sandbox();
    const dynamo = await fakeDynamoDB();
    try {
      mkdirSync(join(box.home, '.aws'), { recursive: true });
      const config = join(box.home, '.aws', 'config');
      writeFileSync(config, `[profile dev]\nregion = eu-west-3\nservices = local-ddb\n\n[services local-ddb]\ndynamodb =\n  endpoint_url = ${dynamo.url}\n`);
      const r = await probe({ ...box.env, AWS_PROFILE: 'dev' });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.deepEqual(r.tables, ['probe']);
      assert.deepEqual(signedWith(dynamo.requests[0]!), { accessKeyId: 'local', region: 'eu-west-3', service: 'dynamodb' });
      assert.equal(r.target, `endpoint ${dynamo.url} ([services local-ddb] dynamodb.endpoint_url of profile dev in ${config}), region eu-west-3 (profile dev)`);
      const ignored = await probe({ ...box.env, AWS_PROFILE: 'dev', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true', DSM_PROBE_CREDENTIALS: 'skip' });
      assert.equal(ignored.target, 'region eu-west-3 (profile dev)');
    } finally {
      await dynamo.close();
      box.done();
    }
  });

  it('a CredentialsError and an unanswered call both say which endpoint and region were used and where each came from', async () => {
    const box = sandbox();
    try {
      const refused = await probe({ ...box.env, AWS_ENDPOINT_URL_DYNAMODB: 'http://10.0.0.7:8000', AWS_REGION: 'eu-west-1' });
      assert.equal(refused.error?.name, 'CredentialsError', JSON.stringify(refused));
      assert.match(refused.error?.message ?? '', /requests go to endpoint http:\/\/10\.0\.0\.7:8000 \(AWS_ENDPOINT_URL_DYNAMODB\), region eu-west-1 \(AWS_REGION\)$/);
      // A loopback port nothing listens on: no answer at all.
      const silent = await probe({ ...box.env, DSM_PROBE_STORE: '1', DSM_PROBE_CREDENTIALS: 'skip', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9', DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' }, { maxAttempts: 1, table: 'probe' });
      assert.equal(silent.error?.name, 'StoreUnavailableError', JSON.stringify(silent));
      assert.match(silent.error?.message ?? '', /endpoint http:\/\/127\.0\.0\.1:9 \(AWS_ENDPOINT_URL_DYNAMODB\), region us-east-1 \(default\); DYNAMODB_ENDPOINT is set but not read: use AWS_ENDPOINT_URL_DYNAMODB/);
    } finally {
      box.done();
    }
  });
});
