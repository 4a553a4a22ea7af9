/**
 * One run of p99sleuth's flame graph renderer as a whole process, the way flamegraph.pl is run:
 *
 *   node dist/bench/render-folded.js IN.folded OUT.svg
 *
 * Reads folded stacks, lays out and renders the SVG, writes it. Spawned by bench/flamegraph-pl.ts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseFolded, renderFlameGraph } from '../src/render/flamegraph/index.js';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: node dist/bench/render-folded.js IN.folded OUT.svg\n');
  process.exitCode = 2;
} else {
  const stacks = parseFolded(await readFile(input, 'utf8'));
  await writeFile(output, renderFlameGraph({ title: 'Flame Graph', unit: 'nanoseconds', sampleType: 'cpu', stacks }));
}
