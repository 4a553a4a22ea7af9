import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFolded, toFolded } from '../../../src/render/flamegraph/folded.js';

describe('parseFolded', () => {
  it('reads one stack per line, root first', () => {
    assert.deepEqual(parseFolded('main;net/http.(*conn).serve;runtime.mallocgc 123\nmain 4\n'), [
      { frames: ['main', 'net/http.(*conn).serve', 'runtime.mallocgc'], value: 123 },
      { frames: ['main'], value: 4 },
    ]);
  });

  it('tolerates trailing whitespace, blank lines, CRLF and tabs', () => {
    const text = '\n  \na;b 1   \r\n\r\n\ta;c\t2\t\n\n';
    assert.deepEqual(parseFolded(text), [
      { frames: ['a', 'b'], value: 1 },
      { frames: ['\ta', 'c'], value: 2 },
    ]);
  });

  it('keeps spaces inside frames and accepts decimal values', () => {
    assert.deepEqual(parseFolded('std::vector<int> push back;x 1.5'), [
      { frames: ['std::vector<int> push back', 'x'], value: 1.5 },
    ]);
  });

  it('reads difffolded two-column lines as baseline then spike', () => {
    assert.deepEqual(parseFolded('a;b 10 25'), [{ frames: ['a', 'b'], value: 25, baseValue: 10 }]);
  });

  it('rejects malformed lines, naming the line number', () => {
    assert.throws(() => parseFolded('a;b 1\na;b\n'), /line 2/);
    assert.throws(() => parseFolded('a;b 1\n\n42\n'), /line 3.*missing|line 3/);
    assert.throws(() => parseFolded('a;b -3'), /line 1/);
    assert.throws(() => parseFolded('a;;b 3'), /line 1: empty frame/);
    assert.throws(() => parseFolded('a;b 1x'), /line 1/);
  });
});

describe('toFolded', () => {
  it('writes one line per stack', () => {
    assert.equal(toFolded([{ frames: ['a', 'b'], value: 3 }, { frames: ['c'], value: 1 }]), 'a;b 3\nc 1\n');
  });

  it('escapes ";" and "\\" inside frames so names survive a round trip', () => {
    const stacks = [{ frames: ['weird;name', 'C:\\path\\x.go', 'end\\'], value: 7 }];
    const text = toFolded(stacks);
    assert.equal(text, 'weird\\;name;C:\\\\path\\\\x.go;end\\\\ 7\n');
    assert.deepEqual(parseFolded(text), stacks);
  });

  it('reads a lone backslash literally, as other tools write it', () => {
    assert.deepEqual(parseFolded('C:\\src\\main.go;f 1')[0].frames, ['C:\\src\\main.go', 'f']);
  });

  it('writes baseline and spike columns when any stack has a baseline, and reads them back', () => {
    const stacks = [{ frames: ['a'], value: 5, baseValue: 2 }, { frames: ['b'], value: 1 }];
    const text = toFolded(stacks);
    assert.equal(text, 'a 2 5\nb 0 1\n');
    assert.deepEqual(parseFolded(text), [{ frames: ['a'], value: 5, baseValue: 2 }, { frames: ['b'], value: 1, baseValue: 0 }]);
  });
});
