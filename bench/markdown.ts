/**
 * The results of `npm run bench -- ... --json` as the Markdown table of bench/README.md:
 *
 *   node --import tsx bench/markdown.ts results.jsonl [more.jsonl ...]
 */
import fs from 'node:fs';
import { markdown, type Row } from './lib/report.js';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node --import tsx bench/markdown.ts FILE.jsonl [FILE.jsonl ...]');
  process.exit(2);
}
const rows = files.flatMap((f) =>
  fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Row),
);
console.log(markdown(rows));
