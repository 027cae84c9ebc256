/**
 * The per-request rules every entry shares (src/adapters/request-rules.ts):
 * `lock`, `keepAlive` and the device `trackDevices` records, decided in one
 * place from a reader of the framework's request. The conformance matrix runs
 * them through the nine entries; here, the rules themselves, and a check that
 * no entry decides them on its own again.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RequestRules, type RequestReader } from '../src/adapters/request-rules.js';

interface FakeRequest {
  method: string;
  url?: string;
  agent?: string;
  ip?: string;
}

function reader(urls: string[] = []): RequestReader<FakeRequest> {
  return {
    method: (req) => req.method,
    url: (req) => {
      urls.push(req.url ?? '');
      return req.url ?? '';
    },
    userAgent: (req) => req.agent,
    clientAddress: (req) => req.ip,
    judged: (req) => req.url !== undefined,
  };
}

describe('RequestRules: lock, keepAlive and device from one reader', () => {
  it('each form of rule: none (the locking mode decides), a boolean, a path prefix, a RegExp on path and query, a predicate', () => {
    const post = { method: 'POST', url: '/cart/add?x=1' };
    const get = { method: 'GET', url: '/home' };
    assert.equal(new RequestRules(reader(), undefined, undefined).lock(post), undefined);
    assert.equal(new RequestRules(reader(), true, undefined).lock(get), true);
    assert.equal(new RequestRules(reader(), false, undefined).lock(post), false);
    assert.deepEqual([post, get].map((r) => new RequestRules(reader(), '/cart', undefined).lock(r)), [true, false]);
    assert.deepEqual([post, get].map((r) => new RequestRules(reader(), /x=1$/, undefined).lock(r)), [true, false]);
    assert.deepEqual([post, get].map((r) => new RequestRules(reader(), (req: FakeRequest) => req.method === 'GET', undefined).lock(r)), [false, true]);
  });

  it('keepAlive: every request extends the session unless its rule leaves it out', () => {
    const poll = { method: 'GET', url: '/api/poll' };
    const page = { method: 'GET', url: '/page' };
    assert.deepEqual([poll, page].map((r) => new RequestRules(reader(), undefined, undefined).keepAlive(r)), [true, true]);
    assert.deepEqual([poll, page].map((r) => new RequestRules(reader(), undefined, (req: FakeRequest) => !req.url!.startsWith('/api/poll')).keepAlive(r)), [false, true]);
    assert.deepEqual([poll, page].map((r) => new RequestRules(reader(), undefined, /^\/page/).keepAlive(r)), [false, true]);
  });

  it('a request the entry cannot show the rules (judged false): the locking mode decides, and it extends the session', () => {
    const action = { method: 'POST' };
    const rules = new RequestRules(reader(), (req: FakeRequest) => req.url!.startsWith('/x'), '/never');
    assert.equal(rules.lock(action), undefined);
    assert.equal(rules.keepAlive(action), true);
  });

  it('the URL is read only by a rule that matches on it', () => {
    const urls: string[] = [];
    const rules = new RequestRules(reader(urls), true, (req: FakeRequest) => req.method === 'GET');
    rules.lock({ method: 'GET', url: '/a' });
    rules.keepAlive({ method: 'GET', url: '/a' });
    assert.deepEqual(urls, []);
    new RequestRules(reader(urls), '/a', undefined).lock({ method: 'GET', url: '/a' });
    assert.deepEqual(urls, ['/a']);
  });

  it('device: the User-Agent (the first of a repeated one) and the client address; an address the framework gives beside the request wins', () => {
    const rules = new RequestRules(reader(), undefined, undefined);
    assert.deepEqual(rules.device({ method: 'GET', agent: 'Agent/1', ip: '10.0.0.1' }), { userAgent: 'Agent/1', ip: '10.0.0.1' });
    assert.deepEqual(rules.device({ method: 'GET', ip: '10.0.0.1' }, '192.0.2.7'), { ip: '192.0.2.7' });
    assert.deepEqual(rules.device({ method: 'GET' }), {});
  });
});

describe('no entry decides the rules on its own', () => {
  it('lockRule() and deviceOf() are called only by request-rules.ts: every entry reads its request into RequestRules', () => {
    const dir = join(import.meta.dirname, '..', 'src', 'adapters');
    const callers = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && f !== 'request-rules.ts' && f !== 'lock-rule.ts' && f !== 'device.ts')
      .filter((f) => /\b(lockRule|deviceOf)\(/.test(readFileSync(join(dir, f), 'utf8')));
    assert.deepEqual(callers, []);
    const users = readdirSync(dir).filter((f) => /new (RequestRules|RequestPipeline)\b/.test(readFileSync(join(dir, f), 'utf8')));
    for (const entry of ['express-store.ts', 'koa-store.ts', 'fastify-store.ts', 'web.ts', 'hono.ts', 'http.ts', 'next.ts', 'react-router.ts', 'request-pipeline.ts']) {
      assert.ok(users.includes(entry), `${entry} builds its rules with RequestRules or RequestPipeline`);
    }
  });
});
