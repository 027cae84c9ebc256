import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deepEqual, mergeSessions } from '../src/core/merge.js';

type Obj = Record<string, unknown>;
// JSON.parse keeps `__proto__` keys as own data, as the codec's parse does; structuredClone would not.
const jsonClone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const jsonObject = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8, noNullPrototype: true }) as fc.Arbitrary<Obj>;
const addDeltas = (_p: unknown, base: unknown, mine: unknown, theirs: unknown) =>
  (theirs as number) + (mine as number) - (typeof base === 'number' ? base : 0);

describe('three-way merge of sessions', () => {
  it('merging with no concurrent change returns exactly mine', () => {
    fc.assert(
      fc.property(jsonObject, jsonObject, (base, mine) => {
        const r = mergeSessions(base, mine, jsonClone(base));
        assert.equal(r.value, mine);
        assert.equal(r.conflicts.length, 0);
      }),
    );
  });

  it('a request that changed nothing takes theirs', () => {
    fc.assert(
      fc.property(jsonObject, jsonObject, (base, theirs) => {
        assert.deepEqual(mergeSessions(base, jsonClone(base), theirs).value, theirs);
      }),
    );
  });

  it('changes to disjoint keys by two sides both persist', () => {
    fc.assert(
      fc.property(jsonObject, fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })), fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })), (base, a, b) => {
        const mine = jsonClone(base);
        const theirs = jsonClone(base);
        for (const [k, v] of Object.entries(a)) mine[`m_${k}`] = v;
        for (const [k, v] of Object.entries(b)) theirs[`t_${k}`] = v;
        const r = mergeSessions(base, mine, theirs);
        for (const [k, v] of Object.entries(a)) assert.ok(deepEqual(r.value[`m_${k}`], v));
        for (const [k, v] of Object.entries(b)) assert.ok(deepEqual(r.value[`t_${k}`], v));
        assert.equal(r.conflicts.length, 0);
      }),
    );
  });

  it('two sides appending to one array keep the base and every appended element', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 6 }), fc.array(fc.integer(), { maxLength: 6 }), fc.array(fc.integer(), { maxLength: 6 }), (base, a, b) => {
        const r = mergeSessions({ list: base }, { list: [...base, ...a] }, { list: [...base, ...b] });
        const list = r.value.list as unknown[];
        assert.ok(deepEqual(list.slice(0, base.length), base));
        const appended = list.slice(base.length).map(Number).sort((x, y) => x - y);
        assert.deepEqual(appended, [...a, ...b].sort((x, y) => x - y));
        assert.equal(r.conflicts.length, 0);
      }),
    );
  });

  it('two sides removing different elements both remove theirs', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer(), { minLength: 2, maxLength: 10 }), fc.nat(), fc.nat(), (base, i, j) => {
        const x = base[i % base.length];
        const y = base[j % base.length];
        const r = mergeSessions({ l: base }, { l: base.filter((v) => v !== x) }, { l: base.filter((v) => v !== y) });
        assert.deepEqual(r.value.l, base.filter((v) => v !== x && v !== y));
      }),
    );
  });

  it('a removal on one side and appends on the other combine', () => {
    const r = mergeSessions({ cart: ['a', 'b', 'c'] }, { cart: ['a', 'c'] }, { cart: ['a', 'b', 'c', 'd'] });
    assert.deepEqual(r.value.cart, ['a', 'c', 'd']);
  });

  it('an in-place edit of an element and an append on the other side combine', () => {
    const r = mergeSessions({ l: [{ q: 1 }, { q: 2 }] }, { l: [{ q: 1 }, { q: 5 }] }, { l: [{ q: 1 }, { q: 2 }, { q: 3 }] });
    assert.deepEqual(r.value.l, [{ q: 1 }, { q: 5 }, { q: 3 }]);
  });

  it('a path one side deleted stays deleted when the other did not touch it', () => {
    const r = mergeSessions({ a: 1, flash: 'hi', user: { id: 1, tmp: true } }, { a: 1, user: { id: 1 } }, { a: 2, flash: 'hi', user: { id: 1, tmp: true } });
    assert.deepEqual(r.value, { a: 2, user: { id: 1 } });
    assert.equal(r.conflicts.length, 0);
  });

  it('a deletion against a modification keeps the modification and reports it', () => {
    const r = mergeSessions({ flash: 'a' }, {}, { flash: 'b' });
    assert.deepEqual(r.value, { flash: 'b' });
    assert.equal(r.conflicts.length, 1);
  });

  it('deleting an object wins against a change beneath it, on either side (a logout by delete session.user stays)', () => {
    const base = { user: { id: 'alice', lastSeen: 1 }, theme: 'dark' };
    const loggedOut = { theme: 'dark' };
    const touched = { user: { id: 'alice', lastSeen: 2 }, theme: 'dark' };
    for (const [mine, theirs] of [
      [loggedOut, touched],
      [touched, loggedOut],
    ] as const) {
      const r = mergeSessions(jsonClone(base), jsonClone(mine), jsonClone(theirs));
      assert.deepEqual(r.value, { theme: 'dark' });
      assert.deepEqual(r.conflicts.map((c) => c.path), [['user']]);
    }
    // An array too: a cart emptied by delete, against an item appended.
    assert.deepEqual(mergeSessions({ cart: ['a'] }, {}, { cart: ['a', 'b'] }).value, {});
    // onConflict may still decide otherwise.
    assert.deepEqual(mergeSessions(base, loggedOut, touched, (_p, _b, _m, theirs) => theirs).value, touched);
  });

  it('both sides deleting the same key is no conflict', () => {
    const r = mergeSessions({ x: 1, y: 2 }, { y: 2 }, { y: 3 });
    assert.deepEqual(r.value, { y: 3 });
    assert.equal(r.conflicts.length, 0);
  });

  it('two increments of one counter are a conflict; the later write wins by default and it is counted', () => {
    const r = mergeSessions({ n: 5 }, { n: 6 }, { n: 6 });
    assert.deepEqual(r.value, { n: 6 });
    assert.equal(r.conflicts.length, 1);
    assert.deepEqual(r.conflicts[0]!.path, ['n']);
  });

  it('an onConflict that adds the deltas loses no increment', () => {
    assert.deepEqual(mergeSessions({ n: 5 }, { n: 6 }, { n: 6 }, addDeltas).value, { n: 7 });
    assert.deepEqual(mergeSessions({}, { n: 1 }, { n: 1 }, addDeltas).value, { n: 2 });
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -50, max: 50 }), fc.integer({ min: -50, max: 50 }), (b, dm, dt) => {
        fc.pre(dm !== 0 && dt !== 0);
        assert.equal(mergeSessions({ n: b }, { n: b + dm }, { n: b + dt }, addDeltas).value.n, b + dm + dt);
      }),
    );
  });

  it('a true conflict deep in the session is reported with its path', () => {
    const r = mergeSessions(
      { cart: { total: 10, items: ['a'] } },
      { cart: { total: 12, items: ['a'] } },
      { cart: { total: 11, items: ['a', 'b'] } },
    );
    assert.deepEqual(r.value, { cart: { total: 12, items: ['a', 'b'] } });
    assert.deepEqual(r.conflicts.map((c) => c.path), [['cart', 'total']]);
  });

  it('onConflict decides, and returning undefined deletes the path', () => {
    const r = mergeSessions({ a: 1, keep: 1 }, { a: 2, keep: 1 }, { a: 3, keep: 1 }, () => undefined);
    assert.deepEqual(r.value, { keep: 1 });
  });

  it('__proto__ keys in any input never pollute a prototype', () => {
    const evil = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Obj;
    const r = mergeSessions({ a: 0 }, evil, JSON.parse('{"__proto__": {"polluted": 2}, "b": 1}') as Obj);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(r.value), Object.prototype);
    assert.equal((r.value as { polluted?: unknown }).polluted, undefined);
  });

  it('never mutates its inputs', () => {
    fc.assert(
      fc.property(jsonObject, jsonObject, jsonObject, (base, mine, theirs) => {
        const before = JSON.stringify([base, mine, theirs]);
        mergeSessions(base, mine, theirs, (_p, _b, m) => m);
        assert.equal(JSON.stringify([base, mine, theirs]), before);
      }),
    );
  });

  it('the result of any merge is JSON that keeps every key only one side added', () => {
    fc.assert(
      fc.property(jsonObject, jsonObject, jsonObject, (base, mine, theirs) => {
        const r = mergeSessions(base, mine, theirs);
        assert.ok(deepEqual(JSON.parse(JSON.stringify(r.value)), r.value));
        for (const k of Object.keys(mine)) if (!(k in base) && !(k in theirs)) assert.ok(deepEqual(r.value[k], mine[k]));
        for (const k of Object.keys(theirs)) if (!(k in base) && !(k in mine)) assert.ok(deepEqual(r.value[k], theirs[k]));
      }),
    );
  });
});
