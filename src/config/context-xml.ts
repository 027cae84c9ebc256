/**
 * Reads the Tomcat manager's configuration: the attributes of the `<Manager>`
 * element of a `context.xml`, under the seed's names, into SessionStoreOptions.
 * A context.xml written for the Tomcat manager can be reused as it is.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ConfigError } from '../errors.js';
import { OPTION_NAMES, OPTIONS, type OptionSpec, type SessionStoreOptions } from './options.js';
import { resolveConfig } from './resolve-config.js';

export interface ContextXmlResult {
  /** The options the `<Manager>` attributes give; only those present. */
  options: SessionStoreOptions;
  /** Attributes of `<Manager>` this library does not use, as written (`className` excluded), for the caller to warn about. */
  ignored: string[];
}

type Kind = 'string' | 'secret' | 'path' | 'int' | 'boolean';
interface Attribute {
  /** The seed's spelling, used in messages. */
  name: string;
  option: keyof SessionStoreOptions;
  kind: Kind;
}

// Tomcat maps attributes to setters without regard to the case of the first letter
// (the seed itself writes `createIfNotExist`), so names match case-insensitively.
// Each attribute is read as its option's default is typed; keys and the file's path are the exceptions.
const KINDS: Partial<Record<keyof SessionStoreOptions, Kind>> = { accessKeyId: 'secret', secretAccessKey: 'secret', credentialsFile: 'path' };
const ATTRIBUTES = new Map<string, Attribute>(
  OPTION_NAMES.flatMap((option) => {
    const { xml: name, default: given } = OPTIONS[option] as OptionSpec;
    const kind = KINDS[option] ?? (typeof given === 'number' ? 'int' : typeof given === 'boolean' ? 'boolean' : 'string');
    return name ? [[name.toLowerCase(), { name, option, kind }]] : [];
  }),
);

/** Tomcat's own: which Manager class to load. Meaningless here, so silently skipped. */
const CLASS_NAME = 'classname';

const META = XMLParser.getMetaDataSymbol() as unknown as symbol;
type XmlNode = Record<string, unknown> & { [key: symbol]: { startIndex?: number } | undefined };

interface Element {
  tag: string;
  attributes: Record<string, string>;
  children: XmlNode[];
  start: number;
}

const lineAt = (xml: string, index: number): number => {
  let line = 1;
  for (let i = xml.indexOf('\n'); i !== -1 && i < index; i = xml.indexOf('\n', i + 1)) line++;
  return line;
};

function elementOf(node: XmlNode): Element | undefined {
  const tag = Object.keys(node).find((k) => k !== ':@');
  // '#text', '#comment', '?xml' and the like are not elements.
  if (tag === undefined || tag.startsWith('#') || tag.startsWith('?') || tag.startsWith('!')) return undefined;
  const children = node[tag];
  return {
    tag,
    attributes: (node[':@'] as Record<string, string> | undefined) ?? {},
    children: Array.isArray(children) ? (children as XmlNode[]) : [],
    start: node[META]?.startIndex ?? -1,
  };
}

function* elements(nodes: XmlNode[]): Generator<Element> {
  for (const node of nodes) {
    const element = elementOf(node);
    if (!element) continue;
    yield element;
    yield* elements(element.children);
  }
}

/** Where each attribute of the start tag at `start` begins, by name; the parser keeps no positions of its own for them. */
function attributePositions(xml: string, start: number, tag: string): Map<string, number> {
  const positions = new Map<string, number>();
  if (start < 0 || !xml.startsWith(`<${tag}`, start)) return positions;
  const attribute = /\s+([^\s=/>]+)\s*=\s*(?:"[^"]*"|'[^']*')/y;
  attribute.lastIndex = start + tag.length + 1;
  for (let m = attribute.exec(xml); m; m = attribute.exec(xml)) {
    positions.set(m[1]!, m.index + m[0].length - m[0].trimStart().length);
  }
  return positions;
}

function parseInteger(raw: string): number | undefined {
  const text = raw.trim();
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

function parseBoolean(raw: string): boolean | undefined {
  const text = raw.trim().toLowerCase();
  return text === 'true' ? true : text === 'false' ? false : undefined;
}

/**
 * Like parseContextXml, and also returns the `<Manager>` attributes that were
 * ignored so the caller can warn about them.
 */
export function parseContextXmlDetailed(xml: string, fileName?: string): ContextXmlResult {
  const file = fileName ?? 'context.xml';
  const text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;

  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new ConfigError(
      `${file}:${line}${col ? `:${col}` : ''}: malformed XML: ${msg} Fix the XML on that line; the file should look like ` +
        `<Context><Manager className="" Table="Tomcat_SessionState" /></Context>`,
    );
  }

  const parser = new XMLParser({
    preserveOrder: true,
    captureMetaData: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    trimValues: false,
    processEntities: true,
    htmlEntities: false,
  });
  const tree = parser.parse(text) as XmlNode[];
  const all = [...elements(tree)];
  const managers = all.filter((e) => e.tag === 'Manager');

  if (managers.length === 0) {
    const root = all[0];
    const where = root ? `${file}:${lineAt(text, root.start)}` : file;
    const misspelt = all.find((e) => e.tag.toLowerCase() === 'manager');
    const hint = misspelt
      ? ` (line ${lineAt(text, misspelt.start)} has <${misspelt.tag}>: element names are case-sensitive, write <Manager>)`
      : '';
    throw new ConfigError(
      `${where}: no <Manager> element in ${root ? `<${root.tag}>` : 'the file'}${hint}: ` +
        `add <Manager className="" /> inside <Context>, with the attributes you need (Table, RegionId, Endpoint, AwsCredentialsFile, …)`,
    );
  }
  if (managers.length > 1) {
    throw new ConfigError(
      `${file}:${lineAt(text, managers[1]!.start)}: a second <Manager> element (the first is on line ${lineAt(text, managers[0]!.start)}): ` +
        'a Context has one Manager; keep one of them',
    );
  }

  const manager = managers[0]!;
  const managerLine = lineAt(text, manager.start);
  const positions = attributePositions(text, manager.start, manager.tag);
  const at = (written: string): string => {
    const position = positions.get(written);
    return `${file}:${position === undefined ? managerLine : lineAt(text, position)}`;
  };

  const options: Record<string, unknown> = {};
  const seen = new Map<string, string>();
  const ignored: string[] = [];

  for (const [written, raw] of Object.entries(manager.attributes)) {
    const key = written.toLowerCase();
    if (key === CLASS_NAME) continue;
    const attribute = ATTRIBUTES.get(key);
    if (!attribute) {
      ignored.push(written);
      continue;
    }
    const before = seen.get(key);
    if (before !== undefined) {
      throw new ConfigError(`${at(written)}: <Manager> attribute ${attribute.name} is given twice (as "${before}" and "${written}"): keep one`);
    }
    seen.set(key, written);

    // Secret values are never quoted back, whatever is wrong with them.
    const shown = attribute.kind === 'secret' ? '' : ` (got ${JSON.stringify(raw)})`;
    if (raw.trim() === '') {
      throw new ConfigError(`${at(written)}: <Manager> attribute ${attribute.name} is empty: give it a value, or remove it to use the default`);
    }

    let value: unknown;
    switch (attribute.kind) {
      case 'int':
        value = parseInteger(raw);
        if (value === undefined) {
          const example = (OPTIONS[attribute.option] as OptionSpec).default;
          throw new ConfigError(`${at(written)}: <Manager> attribute ${attribute.name} must be a whole number such as ${String(example)}${shown}`);
        }
        break;
      case 'boolean':
        value = parseBoolean(raw);
        if (value === undefined) throw new ConfigError(`${at(written)}: <Manager> attribute ${attribute.name} must be "true" or "false"${shown}`);
        break;
      case 'path':
        // Relative to the context.xml, so the pair can move together; without a file name, to the working directory.
        value = isAbsolute(raw) ? raw : resolve(fileName === undefined ? '.' : dirname(resolve(fileName)), raw);
        break;
      default:
        value = raw;
    }

    // The option rules (ranges, table-name syntax, URL shape) live in resolveConfig; run them here to point at the line.
    if (attribute.kind !== 'secret') {
      try {
        resolveConfig({ [attribute.option]: value });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        throw new ConfigError(`${at(written)}: <Manager> attribute ${attribute.name} is invalid: ${err.message}`);
      }
    }
    options[attribute.option] = value;
  }

  if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
    const [has, lacks] = options.accessKeyId === undefined ? ['AwsSecretKey', 'AwsAccessKey'] : ['AwsAccessKey', 'AwsSecretKey'];
    throw new ConfigError(
      `${file}:${managerLine}: <Manager> has ${has} but no ${lacks}: give both, or neither to use AwsCredentialsFile or the default AWS credentials chain`,
    );
  }

  return { options: options as SessionStoreOptions, ignored };
}

/** The SessionStoreOptions given by the `<Manager>` element of a context.xml's text. */
export function parseContextXml(xml: string, fileName?: string): SessionStoreOptions {
  return parseContextXmlDetailed(xml, fileName).options;
}

/** Like loadContextXml, and also returns the ignored `<Manager>` attributes. */
export function loadContextXmlDetailed(path: string): ContextXmlResult {
  let xml: string;
  try {
    xml = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist: check the path'
        : code === 'EISDIR'
          ? 'is a directory: give the path of the context.xml file itself'
          : `cannot be read (${code ?? 'unknown error'}): check its permissions`;
    throw new ConfigError(`context.xml file ${path} ${why}`, { cause: err });
  }
  return parseContextXmlDetailed(xml, path);
}

/** The SessionStoreOptions given by the `<Manager>` element of the context.xml file at `path`. */
export function loadContextXml(path: string): SessionStoreOptions {
  return loadContextXmlDetailed(path).options;
}
