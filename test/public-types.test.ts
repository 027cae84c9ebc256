/**
 * What a public function or method takes or returns can be named by the user:
 * every type of the package that appears in such a signature is exported by
 * one of the entries. Read from the sources with the TypeScript compiler, so
 * a new method that returns an unexported interface fails here, not in a
 * user's `ReturnType<…>` workaround.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve('.');
const SRC = join(ROOT, 'src') + '/';
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, unknown> };

/** The source file of each entry of package.json "exports", as tsup.config.ts maps them. */
function entryFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const subpath of Object.keys(pkg.exports)) {
    if (subpath === './package.json') continue;
    const name = subpath === '.' ? 'index' : subpath.slice(2);
    const candidates = [`src/${name}.ts`, `src/${name}/index.ts`, `src/adapters/${name}.ts`];
    const found = candidates.find((file) => existsSync(join(ROOT, file)));
    assert.ok(found, `no source file for the entry "${subpath}" (looked for ${candidates.join(', ')})`);
    files.set(subpath, join(ROOT, found));
  }
  return files;
}

interface Finding {
  where: string;
  type: string;
}

/** The package's types used by the public signatures of the entries that are exported by none of them. */
export function unexportedTypes(entries: Map<string, string>, src = SRC): Finding[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  assert.ok(config, 'tsconfig.json parses');
  const program = ts.createProgram([...entries.values()], { ...config.options, noEmit: true });
  const checker = program.getTypeChecker();
  const real = (symbol: ts.Symbol): ts.Symbol => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);

  const exported = new Set<ts.Symbol>();
  const roots: Array<[string, ts.Symbol]> = [];
  for (const [subpath, file] of entries) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(file)!);
    assert.ok(module, `${file} is a module`);
    for (const symbol of checker.getExportsOfModule(module)) {
      exported.add(real(symbol));
      roots.push([`${subpath} ${symbol.name}`, real(symbol)]);
    }
  }

  // Every declaration in the package: an interface of a framework we augment (FastifyRequest) is the framework's.
  const ours = (symbol: ts.Symbol) =>
    (symbol.declarations?.length ?? 0) > 0 &&
    symbol.declarations!.every(
      (d) => d.getSourceFile().fileName.startsWith(src) && (ts.isInterfaceDeclaration(d) || ts.isTypeAliasDeclaration(d) || ts.isClassDeclaration(d) || ts.isEnumDeclaration(d)),
    );
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const need = (where: string, symbol: ts.Symbol | undefined) => {
    if (!symbol) return;
    const target = real(symbol);
    if (!ours(target) || exported.has(target)) return;
    const key = `${where}|${target.name}`;
    if (seen.has(key)) return;
    seen.add(key);
    const file = target.declarations![0]!.getSourceFile().fileName.slice(src.length);
    findings.push({ where, type: `${target.name} (${file})` });
  };
  // The type names written in a signature, and those of an inferred return type.
  const walkNode = (where: string, node: ts.Node | undefined) => {
    if (!node) return;
    if (ts.isTypeReferenceNode(node)) need(where, checker.getSymbolAtLocation(ts.isQualifiedName(node.typeName) ? node.typeName.right : node.typeName));
    if (ts.isExpressionWithTypeArguments(node)) need(where, checker.getSymbolAtLocation(node.expression));
    ts.forEachChild(node, (child) => walkNode(where, child));
  };
  const walkType = (where: string, type: ts.Type, depth = 0) => {
    if (depth > 3) return;
    need(where, type.aliasSymbol);
    if (type.symbol && !(type.symbol.flags & (ts.SymbolFlags.TypeLiteral | ts.SymbolFlags.ObjectLiteral | ts.SymbolFlags.Function | ts.SymbolFlags.Method))) need(where, type.symbol);
    for (const t of type.aliasTypeArguments ?? []) walkType(where, t, depth + 1);
    if (type.isUnionOrIntersection()) for (const t of type.types) walkType(where, t, depth + 1);
    if (type.flags & ts.TypeFlags.Object && (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference) {
      for (const t of checker.getTypeArguments(type as ts.TypeReference)) walkType(where, t, depth + 1);
    }
  };
  const isPublic = (member: ts.ClassElement | ts.TypeElement) => {
    if (member.name && ts.isPrivateIdentifier(member.name)) return false;
    const flags = ts.getCombinedModifierFlags(member as ts.Declaration);
    if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return false;
    return !ts.getJSDocTags(member).some((tag) => tag.tagName.text === 'internal');
  };
  const signature = (where: string, decl: ts.SignatureDeclaration) => {
    for (const p of decl.parameters) walkNode(where, p.type);
    for (const t of decl.typeParameters ?? []) walkNode(where, t.constraint);
    if (decl.type) walkNode(where, decl.type);
    else {
      const sig = checker.getSignatureFromDeclaration(decl);
      if (sig) walkType(where, checker.getReturnTypeOfSignature(sig));
    }
  };
  const member = (where: string, m: ts.ClassElement | ts.TypeElement) => {
    if (!isPublic(m)) return;
    const name = `${where}.${m.name ? m.name.getText() : m.kind === ts.SyntaxKind.Constructor ? 'constructor' : '(call)'}`;
    if (ts.isMethodDeclaration(m) || ts.isMethodSignature(m) || ts.isConstructorDeclaration(m) || ts.isCallSignatureDeclaration(m) || ts.isGetAccessorDeclaration(m)) signature(name, m);
    else if ((ts.isPropertySignature(m) || ts.isPropertyDeclaration(m)) && m.type && (ts.isFunctionTypeNode(m.type) || ts.isTypeReferenceNode(m.type) || ts.isUnionTypeNode(m.type))) {
      // A property of a function type is a method by another spelling; so is one whose type is a returned object.
      walkNode(name, m.type);
    }
  };

  for (const [where, symbol] of roots) {
    for (const decl of symbol.declarations ?? []) {
      if (!decl.getSourceFile().fileName.startsWith(src)) continue;
      if (ts.isFunctionDeclaration(decl)) signature(where, decl);
      else if (ts.isClassDeclaration(decl) || ts.isInterfaceDeclaration(decl)) for (const m of decl.members) member(where, m as ts.ClassElement | ts.TypeElement);
      else if (ts.isTypeAliasDeclaration(decl)) walkNode(where, decl.type);
      else if (ts.isVariableDeclaration(decl)) {
        if (decl.type) walkNode(where, decl.type);
        else walkType(where, checker.getTypeAtLocation(decl));
      }
    }
  }
  return findings;
}

it('every type of the package that a public function or method takes or returns is exported by an entry', () => {
  const findings = unexportedTypes(entryFiles());
  assert.deepEqual(
    findings.map((f) => `${f.where}: ${f.type}`),
    [],
    'export these types from the entry that uses them (or from the root entry when several do)',
  );
});

it('the check finds a type that a public function returns and no entry exports', () => {
  // A fixture entry: an exported function whose return type is not exported, beside one whose types are.
  const dir = mkdtempSync(join(tmpdir(), 'dsm-public-types-')) + '/';
  const file = join(dir, 'entry.ts');
  writeFileSync(file, 'interface Hidden { a: number }\nexport function leak(): Hidden { return { a: 1 }; }\nexport interface Shown { b: string }\nexport function fine(x: Shown): Shown { return x; }\n');
  try {
    const findings = unexportedTypes(new Map([['.', file]]), dir);
    assert.deepEqual(findings, [{ where: '. leak', type: 'Hidden (entry.ts)' }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
