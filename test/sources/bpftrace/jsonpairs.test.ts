import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonObject, parseJsonPairs, type JsonValue } from '../../../src/sources/bpftrace/jsonpairs.js';

/** Back to plain JS for comparison with JSON.parse (last duplicate wins there). */
const plain = (v: JsonValue): unknown =>
  v instanceof JsonObject ? Object.fromEntries(v.members.map(([k, x]) => [k, plain(x)])) : Array.isArray(v) ? v.map(plain) : v;

test('keeps every member of an object, duplicates included, in order', () => {
  const v = parseJsonPairs('{"@m": {"a": 1, "b": 2, "a": 3}}');
  assert.ok(v instanceof JsonObject);
  const m = v.get('@m') as JsonObject;
  assert.deepEqual(m.members, [['a', 1], ['b', 2], ['a', 3]]);
  assert.equal(m.get('a'), 3, 'get() answers like JSON.parse');
});

test('reads what JSON.parse reads', () => {
  for (const s of [
    '{"type": "hist", "data": {"@h": [{"max": -1, "count": 1}, {"min": 0, "max": 0, "count": 2}]}}',
    '{"s": "tab\\t nl\\n quote\\" back\\\\ slash\\/ u\\u00e9\\u0001", "n": [0, -1.5e3, 2E-2, true, false, null], "e": {}, "a": []}',
    '  [ 1 , { "k" : [ ] } ]  ',
  ]) {
    assert.deepEqual(plain(parseJsonPairs(s)), JSON.parse(s), s);
  }
});

test('rejects malformed JSON with the offset', () => {
  for (const s of ['{"a": 1', '{"a" 1}', '{a: 1}', '[1, 2', '"abc', '"\\x"', '01', '{"a": 1} x', '', '{"a": tru}']) {
    assert.throws(() => parseJsonPairs(s), /at offset \d+/, JSON.stringify(s));
  }
});
