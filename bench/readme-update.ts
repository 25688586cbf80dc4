import { readFileSync, writeFileSync } from 'node:fs';
import { withBenchTables } from './readme-tables';

/** `npm run bench:readme`: the README's bench tables from the committed bench/results.json (see readme-tables.ts). */
const readmeFile = new URL('../README.md', import.meta.url).pathname;
const results = JSON.parse(readFileSync(new URL('./results.json', import.meta.url), 'utf8'));
const before = readFileSync(readmeFile, 'utf8');
const after = withBenchTables(before, results);
writeFileSync(readmeFile, after);
console.log(after === before ? 'README.md: bench tables already match bench/results.json' : 'README.md: bench tables rewritten from bench/results.json');
