/**
 * Writes docs/options.md from the option schema (src/config/options.ts): the
 * names, context.xml attributes and defaults from OPTIONS, the meanings from
 * each entry's doc comment, which is also what editors show on
 * SessionStoreOptions. `npm run docs:options`; test/options-doc.test.ts fails
 * when the page and the schema differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { OPTIONS, OPTION_NAMES, type OptionSpec } from '../src/config/options.js';

const SCHEMA = fileURLToPath(new URL('../src/config/options.ts', import.meta.url));
export const PAGE = fileURLToPath(new URL('../docs/options.md', import.meta.url));

/** Each entry's doc comment in OPTIONS, on one line, by option name. */
function docComments(): Map<string, string> {
  const source = ts.createSourceFile(SCHEMA, readFileSync(SCHEMA, 'utf8'), ts.ScriptTarget.Latest, true);
  const docs = new Map<string, string>();
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && node.name.getText() === 'OPTIONS' && node.initializer) {
      const init = node.initializer;
      const literal = ts.isSatisfiesExpression(init) ? init.expression : init;
      if (!ts.isObjectLiteralExpression(literal)) throw new Error('OPTIONS is no object literal');
      for (const property of literal.properties) {
        const text = ts
          .getJSDocCommentsAndTags(property)
          .map((doc) => (ts.isJSDoc(doc) ? (ts.getTextOfJSDocComment(doc.comment) ?? '') : ''))
          .join(' ');
        docs.set(property.name!.getText(), text.replace(/\s*\n\s*/g, ' ').trim());
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return docs;
}

const code = (text: string) => `\`${text}\``;
const shownDefault = (spec: OptionSpec): string => {
  if (spec.shown !== undefined) return spec.shown;
  if (spec.default === undefined) return '—';
  return code(typeof spec.default === 'string' ? `'${spec.default}'` : String(spec.default));
};

/** What follows the tables, written by hand: context.xml, credentials, endpoint and Region. */
const TAIL = fileURLToPath(new URL('./options-doc-tail.md', import.meta.url));

/** docs/options.md as the schema gives it. */
export function optionsPage(): string {
  const docs = docComments();
  const rows = OPTION_NAMES.map((name) => {
    const spec: OptionSpec = OPTIONS[name];
    const meaning = docs.get(name);
    if (!meaning) throw new Error(`option "${name}" has no doc comment in src/config/options.ts`);
    // The comments name docs pages from the repository's root; this page sits beside them.
    const cell = meaning.replaceAll('|', '\\|').replace(/\bdocs\/([\w-]+\.md)/g, '[$1]($1)');
    return `| ${code(name)} | ${spec.xml ? code(spec.xml) : '—'} | ${shownDefault(spec)} | ${cell} |`;
  });
  return `# Options

<!-- Generated from src/config/options.ts by \`npm run docs:options\`: edit the schema there, not this page. -->

The options of \`new SessionStore({ … })\`, which every entry's store takes too (\`new DynamoDBStore({ … })\`,
\`fastifyDynamoSession\`, Koa's and Hono's \`dynamoSession\`, \`sessionHandler\`, \`webSessions\`, …). Names of
the Tomcat manager's \`context.xml\` attributes are kept. Every option is checked when the store is constructed:
an unknown name (with the name it most likely meant), a wrong type or a value out of range is a \`ConfigError\`
naming the option and the fix.

| option | context.xml | default | meaning |
|---|---|---|---|
${rows.join('\n')}

## The entries' own

| option | default | meaning |
|---|---|---|
| \`store\` | — | a \`SessionStore\` to share between entries instead of making one from the options above; given with any of them, it is a \`ConfigError\` naming them: set them on the shared store |
| \`lock\` | — | which requests take a pessimistic lease whatever \`locking\` says: a predicate of the request, a RegExp on the URL, or a path prefix |
| \`keepAlive\` | every request | which requests extend the session, in the same three forms; the others (a background poll) read and write it under the expiry it has |
| \`migrateFrom\` | — | Express only (\`new DynamoDBStore({ migrateFrom })\`): the express-session Store the app used until now, as \`fallback\` ([migration.md](migration.md)) |

${readFileSync(TAIL, 'utf8')}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(PAGE, optionsPage());
  console.log(`wrote ${PAGE}`);
}
