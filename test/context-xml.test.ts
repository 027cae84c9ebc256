import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadContextXml, loadContextXmlDetailed, parseContextXml, parseContextXmlDetailed } from '../src/config/context-xml.js';
import { resolveConfig } from '../src/config/resolve-config.js';
import { credentialsFor } from '../src/aws/credentials.js';
import { ConfigError } from '../src/errors.js';

const SEED_EXAMPLE =
  '<?xml version="1.0" encoding="UTF-8"?> <Context> <WatchedResource>WEB-INF/web.xml</WatchedResource> <Manager className="" createIfNotExist="true" /> </Context>';

/** Asserts a ConfigError whose message matches every pattern. */
function throwsConfigError(fn: () => unknown, ...patterns: RegExp[]): string {
  let message = '';
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'DSM_CONFIG');
    for (const p of patterns) assert.match(err.message, p);
    message = err.message;
    return true;
  });
  return message;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'dsm-context-xml-'));
}

describe('context.xml <Manager> attributes', () => {
  it("parses the seed's own example: createIfNotExist true, className ignored, nothing else set", () => {
    const { options, ignored } = parseContextXmlDetailed(SEED_EXAMPLE, 'context.xml');
    assert.deepEqual(options, { createIfNotExist: true });
    assert.deepEqual(ignored, []);
    assert.equal(resolveConfig(options).table, 'Tomcat_SessionState');
  });

  const all = (names: string[]) => `<?xml version="1.0"?>
<Context>
  <Manager className="com.amazonaws.services.dynamodb.sessionmanager.DynamoDBSessionManager"
    ${names[0]}="AKIAIOSFODNN7EXAMPLE" ${names[1]}="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    ${names[2]}="/etc/tomcat/aws.properties"
    ${names[3]}="App_Sessions" ${names[4]}="eu-west-1" ${names[5]}="http://127.0.0.1:8000"
    ${names[6]}="20" ${names[7]}="7" ${names[8]}="false" />
</Context>`;
  const expected = {
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    credentialsFile: '/etc/tomcat/aws.properties',
    table: 'App_Sessions',
    region: 'eu-west-1',
    endpoint: 'http://127.0.0.1:8000',
    readCapacityUnits: 20,
    writeCapacityUnits: 7,
    createIfNotExist: false,
  };
  const seedNames = ['AwsAccessKey', 'AwsSecretKey', 'AwsCredentialsFile', 'Table', 'RegionId', 'Endpoint', 'ReadCapacityUnits', 'WriteCapacityUnits', 'CreateIfNotExist'];
  const spellings: Array<[string, string[]]> = [
    ['as the seed lists them', seedNames],
    ['with a lower-case first letter', seedNames.map((n) => n[0]!.toLowerCase() + n.slice(1))],
    ['all lower case', seedNames.map((n) => n.toLowerCase())],
    ['all upper case', seedNames.map((n) => n.toUpperCase())],
  ];
  for (const [label, names] of spellings) {
    it(`maps all nine seed attributes, written ${label}, to their options`, () => {
      const { options, ignored } = parseContextXmlDetailed(all(names), '/etc/tomcat/context.xml');
      assert.deepEqual(options, expected);
      assert.deepEqual(ignored, []);
      assert.doesNotThrow(() => resolveConfig(options));
    });
  }

  it('reads CreateIfNotExist "TRUE", "False" and " true " regardless of case and surrounding blanks', () => {
    assert.equal(parseContextXml('<Context><Manager CreateIfNotExist="TRUE"/></Context>').createIfNotExist, true);
    assert.equal(parseContextXml('<Context><Manager CreateIfNotExist="False"/></Context>').createIfNotExist, false);
    assert.equal(parseContextXml('<Context><Manager CreateIfNotExist=" true "/></Context>').createIfNotExist, true);
  });

  it('decodes XML entities in attribute values', () => {
    assert.equal(parseContextXml('<Context><Manager Endpoint="http://127.0.0.1:8000/?a=1&amp;b=2"/></Context>').endpoint, 'http://127.0.0.1:8000/?a=1&b=2');
  });

  it('reports attributes it does not use, as written, and never className', () => {
    const { options, ignored } = parseContextXmlDetailed(
      '<Context><Manager className="x.Y" maxActiveSessions="100" Table="T_1" pathname="" /></Context>',
      'context.xml',
    );
    assert.deepEqual(options, { table: 'T_1' });
    assert.deepEqual(ignored, ['maxActiveSessions', 'pathname']);
  });

  it('finds <Manager> among other elements and ignores a commented-out one', () => {
    const xml = `<Context reloadable="true">
  <!-- <Manager Table="Commented_Out" /> -->
  <WatchedResource>WEB-INF/web.xml</WatchedResource>
  <Resource name="jdbc/app" auth="Container" />
  <Manager Table="Live_Table"></Manager>
</Context>`;
    assert.deepEqual(parseContextXml(xml), { table: 'Live_Table' });
  });

  it('resolves a relative AwsCredentialsFile against the directory of the context.xml, and keeps an absolute one', () => {
    const dir = tempDir();
    try {
      mkdirSync(join(dir, 'conf'));
      writeFileSync(join(dir, 'conf', 'context.xml'), '<Context><Manager AwsCredentialsFile="secrets/aws.properties" /></Context>');
      assert.equal(loadContextXml(join(dir, 'conf', 'context.xml')).credentialsFile, join(dir, 'conf', 'secrets', 'aws.properties'));
      writeFileSync(join(dir, 'conf', 'abs.xml'), '<Context><Manager AwsCredentialsFile="/srv/aws.properties" /></Context>');
      assert.equal(loadContextXml(join(dir, 'conf', 'abs.xml')).credentialsFile, '/srv/aws.properties');
      assert.equal(parseContextXml('<Context><Manager AwsCredentialsFile="aws.properties"/></Context>', join(dir, 'conf', 'context.xml')).credentialsFile, join(dir, 'conf', 'aws.properties'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a relative credentials file next to context.xml is the one read for credentials, whatever the working directory', () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'context.xml'), '<Context>\n  <Manager className="" AwsCredentialsFile="aws.properties" />\n</Context>\n');
      writeFileSync(join(dir, 'aws.properties'), 'accessKey=AKIAFROMCONTEXTDIR01\nsecretKey=secretFromContextDir\n');
      const choice = credentialsFor(resolveConfig(loadContextXml(join(dir, 'context.xml'))));
      assert.equal(choice.source, 'credentials-file');
      assert.deepEqual(choice.credentials, { accessKeyId: 'AKIAFROMCONTEXTDIR01', secretAccessKey: 'secretFromContextDir' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loadContextXmlDetailed returns the ignored attributes of a file', () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, 'context.xml'), '<Context><Manager saveOnRestart="true" RegionId="eu-north-1"/></Context>');
      assert.deepEqual(loadContextXmlDetailed(join(dir, 'context.xml')), { options: { region: 'eu-north-1' }, ignored: ['saveOnRestart'] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('context.xml errors name the file, the line and the fix', () => {
  it('malformed XML is a ConfigError with the file, the line of the fault and what to do', () => {
    const xml = '<?xml version="1.0"?>\n<Context>\n  <Manager Table="T_1">\n</Context>\n';
    throwsConfigError(() => parseContextXml(xml, '/srv/app/context.xml'), /^\/srv\/app\/context\.xml:4(:\d+)?: malformed XML/, /Manager/, /Fix the XML/);
  });

  it('an unquoted attribute value is malformed XML on its own line', () => {
    throwsConfigError(() => parseContextXml('<Context>\n\n<Manager Table=T_1 />\n</Context>', 'ctx.xml'), /^ctx\.xml:3(:\d+)?: malformed XML/);
  });

  it('an empty file is malformed XML at line 1', () => {
    throwsConfigError(() => parseContextXml('', 'empty.xml'), /^empty\.xml:1(:\d+)?: malformed XML/);
  });

  it('counts lines of a file with CRLF line endings', () => {
    throwsConfigError(
      () => parseContextXml('<Context>\r\n\r\n  <Manager ReadCapacityUnits="many" />\r\n</Context>\r\n', 'crlf.xml'),
      /^crlf\.xml:3: .*ReadCapacityUnits/,
    );
  });

  it('a <Context> without <Manager> is a ConfigError with the file, the line and an example to add', () => {
    const xml = '<?xml version="1.0" encoding="UTF-8"?>\n<Context>\n  <WatchedResource>WEB-INF/web.xml</WatchedResource>\n  <!-- <Manager /> -->\n</Context>';
    throwsConfigError(() => parseContextXml(xml, 'conf/context.xml'), /^conf\/context\.xml:2: no <Manager> element in <Context>/, /add <Manager className="" \/>/);
  });

  it('a <manager> in the wrong case is pointed out, since XML element names are case-sensitive', () => {
    throwsConfigError(() => parseContextXml('<Context>\n<manager Table="T_1"/>\n</Context>', 'c.xml'), /line 2 has <manager>.*write <Manager>/);
  });

  it('two <Manager> elements are a ConfigError naming both lines', () => {
    throwsConfigError(() => parseContextXml('<Context>\n<Manager/>\n<Manager/>\n</Context>', 'c.xml'), /^c\.xml:3: a second <Manager>.*first is on line 2/);
  });

  it('a non-integer capacity names the attribute, the file, the line and the value', () => {
    const xml = '<Context>\n  <Manager Table="T_1"\n           ReadCapacityUnits="10.5" />\n</Context>';
    throwsConfigError(() => parseContextXml(xml, 'context.xml'), /^context\.xml:3: <Manager> attribute ReadCapacityUnits must be a whole number/, /got "10\.5"/);
    throwsConfigError(() => parseContextXml('<Context>\n<Manager WriteCapacityUnits="five"/></Context>', 'context.xml'), /^context\.xml:2: .*WriteCapacityUnits/);
  });

  it('a capacity of zero is refused with the option rule and the line', () => {
    throwsConfigError(() => parseContextXml('<Context>\n<Manager\n WriteCapacityUnits="0"/></Context>', 'c.xml'), /^c\.xml:3: <Manager> attribute WriteCapacityUnits is invalid: .*positive integer/);
  });

  it('a CreateIfNotExist other than true/false names the attribute, the file and the line', () => {
    throwsConfigError(() => parseContextXml('<Context>\n<Manager createIfNotExist="yes" /></Context>', 'context.xml'), /^context\.xml:2: <Manager> attribute CreateIfNotExist must be "true" or "false" \(got "yes"\)/);
  });

  it('a bad table name, region or endpoint is refused with its line', () => {
    throwsConfigError(() => parseContextXml('<Context>\n<Manager Table="a b"/></Context>', 'c.xml'), /^c\.xml:2: <Manager> attribute Table is invalid: .*DynamoDB table name/);
    throwsConfigError(() => parseContextXml('<Context><Manager\n\nEndpoint="localhost:8000"/></Context>', 'c.xml'), /^c\.xml:3: <Manager> attribute Endpoint is invalid/);
  });

  it('an empty attribute other than className is refused rather than silently used', () => {
    throwsConfigError(() => parseContextXml('<Context><Manager className="" RegionId="" /></Context>', 'c.xml'), /RegionId is empty/);
  });

  it('the same attribute twice in different case is refused', () => {
    throwsConfigError(() => parseContextXml('<Context><Manager Table="A_1" table="B_2" /></Context>', 'c.xml'), /Table is given twice \(as "Table" and "table"\)/);
  });

  it('one key without the other is refused, and the secret given is never quoted', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const message = throwsConfigError(
      () => parseContextXml(`<Context>\n<Manager AwsSecretKey="${secret}" /></Context>`, 'c.xml'),
      /^c\.xml:2: <Manager> has AwsSecretKey but no AwsAccessKey/,
    );
    assert.ok(!message.includes(secret));
    assert.ok(!message.includes(secret.slice(0, 8)));
  });

  it('a missing context.xml is a ConfigError naming the path', () => {
    const dir = tempDir();
    try {
      throwsConfigError(() => loadContextXml(join(dir, 'nope.xml')), new RegExp(`${join(dir, 'nope.xml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} does not exist`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
