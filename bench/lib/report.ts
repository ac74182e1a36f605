/** Result rows: one JSON object per line with --json, a table otherwise. */
import { median, round } from './stats.js';

export interface Row {
  scenario: string;
  system: string;
  store: string;
  metric: string;
  value: number | null;
  unit: string;
  n: number;
  runs: number;
  min: number | null;
  max: number | null;
  /** jobs-service's target for this metric, e.g. ">= 1000". */
  target?: string;
  met?: boolean;
  /** Why there is no figure, or what to know about it. */
  note?: string;
}

export interface Output {
  json: boolean;
  /** --quick: sizes too small for speed and memory figures to be held to their targets. */
  quick: boolean;
  rows: Row[];
}

export const output: Output = { json: false, quick: false, rows: [] };

/** A row from per-run values: the median with min and max beside it. */
export function row(base: Omit<Row, 'value' | 'min' | 'max' | 'runs'>, values: number[], digits = 0): Row {
  const finite = values.filter((v) => Number.isFinite(v));
  return {
    ...base,
    value: finite.length ? round(median(finite), digits) : null,
    runs: values.length,
    min: finite.length ? round(Math.min(...finite), digits) : null,
    max: finite.length ? round(Math.max(...finite), digits) : null,
  };
}

/** A system that does not run in this scenario or store, with the reason. */
export function skipped(base: Pick<Row, 'scenario' | 'system' | 'store' | 'metric' | 'unit'>, note: string): Row {
  return { ...base, value: null, n: 0, runs: 0, min: null, max: null, note };
}

/**
 * Checks a row against a target such as '>= 1000' or '<= 100'. With --quick only the targets
 * of correctness ('== 0': duplicates, lost runs, failed requests) are checked; the others are
 * reported with the target and a note, since at those sizes the figure says little.
 */
export function withTarget(r: Row, target: string): Row {
  const m = /^(>=|<=|==)\s*(-?[\d.]+)$/.exec(target);
  if (output.quick && target !== '== 0') return { ...r, target, note: [r.note, 'target not checked at --quick sizes'].filter(Boolean).join('; ') };
  if (!m || r.value === null) return { ...r, target };
  const t = Number(m[2]);
  const met = m[1] === '>=' ? r.value >= t : m[1] === '<=' ? r.value <= t : r.value === t;
  return { ...r, target, met };
}

export function emit(r: Row) {
  output.rows.push(r);
  if (output.json) process.stdout.write(`${JSON.stringify(r)}\n`);
}

/** Progress lines go to stderr so that stdout stays one JSON object per line. */
export function progress(msg: string) {
  process.stderr.write(`[bench] ${msg}\n`);
}

function fmt(v: number | null): string {
  if (v === null) return '-';
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(v);
}

/** One line per metric (scenario, store, metric, unit, target), systems side by side, and whether the target is met. */
function matrix(rows: Row[], extras: Array<{ header: string; cell: (of: (system: string) => Row | undefined) => string }> = []): string[][] {
  const systems = [...new Set(rows.map((r) => r.system))];
  const ordered = ['jobs-service', ...systems.filter((s) => s !== 'jobs-service').sort()].filter((s) => systems.includes(s));
  const keys = [...new Set(rows.map((r) => `${r.scenario}\u0000${r.store}\u0000${r.metric}`))];
  const header = ['scenario', 'store', 'metric', 'unit', 'target', ...ordered, ...extras.map((e) => e.header), 'met'];
  const lines: string[][] = [header];
  for (const key of keys) {
    const [scenario, store, metric] = key.split('\u0000');
    const of = (s: string) => rows.find((r) => r.scenario === scenario && r.store === store && r.metric === metric && r.system === s);
    const ours = of('jobs-service');
    const cells = ordered.map((s) => {
      const r = of(s);
      if (!r) return '';
      if (r.value === null) return r.note ? 'n/a' : '-';
      const range = r.runs > 1 && r.min !== null && r.max !== null && r.min !== r.max ? ` (${fmt(r.min)}..${fmt(r.max)})` : '';
      return `${fmt(r.value)}${range}`;
    });
    const any = ours ?? rows.find((r) => r.scenario === scenario && r.store === store && r.metric === metric)!;
    lines.push([scenario, store, metric, any.unit, ours?.target ?? '', ...cells, ...extras.map((e) => e.cell(of)), ours?.met === undefined ? '' : ours.met ? 'yes' : 'NO']);
  }
  return lines;
}

const notesOf = (rows: Row[]) => [...new Set(rows.filter((r) => r.note).map((r) => `${r.scenario}/${r.store}/${r.system}/${r.metric}: ${r.note}`))];

/** The readable table: one line per metric, systems side by side. */
export function table(rows: Row[]): string {
  const lines = matrix(rows);
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const text = lines.map((l) =>
    l
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
  text.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const notes = notesOf(rows).map((n) => `  ${n}`);
  return [...text, ...(notes.length ? ['', 'notes:', ...notes] : [])].join('\n');
}

/** The same as a Markdown table, with jobs-service's figure over each other system's beside it. */
export function markdown(rows: Row[]): string {
  const peers = [...new Set(rows.map((r) => r.system))].filter((s) => s !== 'jobs-service').sort();
  const lines = matrix(
    rows,
    peers.map((peer) => ({ header: `jobs-service / ${peer}`, cell: (of) => ratio(of('jobs-service')?.value, of(peer)?.value) })),
  );
  const md = lines.map((l) => `| ${l.join(' | ')} |`);
  md.splice(1, 0, `|${lines[0].map(() => '---').join('|')}|`);
  const notes = notesOf(rows).map((n) => `- ${n}`);
  return [...md, ...(notes.length ? ['', 'Notes:', '', ...notes] : [])].join('\n');
}

export function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (!a || !b) return '-';
  return (a / b).toFixed(2);
}
