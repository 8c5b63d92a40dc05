// `npm run bench`: engine throughput (objects and series computed per second). Single process,
// single thread: the figures are per core. Results are printed as a Markdown table.
import { benchEngine, backupObject, CEL_CONFIG, compileFile, compileText, PATH_CONFIG } from './engineBench.ts';
import { parseObjects } from '../src/sources/objectFiles.ts';
import { readFileSync } from 'node:fs';

const N = Number(process.env.BENCH_OBJECTS ?? 50_000);
const objects = Array.from({ length: N }, (_, i) => backupObject(i));

function examples(dir: string, file: string): Record<string, unknown>[] {
  const base = parseObjects(readFileSync(`examples/${dir}/${file}`, 'utf8'), file).objects.map((o) => o.object);
  return Array.from({ length: N }, (_, i) => {
    const copy = structuredClone(base[i % base.length]!);
    (copy.metadata as Record<string, unknown>).name = `obj-${i}`;
    return copy;
  });
}

const results = [
  benchEngine('path config (3 gauges)', compileText(PATH_CONFIG), objects),
  benchEngine('CEL config (3 gauges)', compileText(CEL_CONFIG), objects),
  benchEngine('examples/backup', compileFile('examples/backup/config.yaml'), examples('backup', 'backup.yaml')),
  benchEngine('examples/cert-manager', compileFile('examples/cert-manager/config.yaml'), examples('cert-manager', 'certificates.yaml')),
];

console.log(`\nEngine: Node ${process.version}, ${N} objects per pass, median of 5 passes\n`);
console.log('| config | series/object | objects/s | series/s |');
console.log('|---|---:|---:|---:|');
for (const r of results) {
  console.log(`| ${r.name} | ${r.seriesPerObject.toFixed(1)} | ${Math.round(r.objectsPerSecond).toLocaleString('en')} | ${Math.round(r.seriesPerSecond).toLocaleString('en')} |`);
}
