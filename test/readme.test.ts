import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { projectRoot } from '../src/config/config.js';
import { startService, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

// The README runs as written: its bash blocks (the curl tour), its SDK examples and its
// default-job example, against a started service on the embedded store in a fresh data folder.

const run = promisify(execFile);
const readme = await fs.readFile(path.join(projectRoot, 'README.md'), 'utf8');

/** The fenced blocks of one language, in order, each with the heading it stands under. */
function blocks(lang: string): Array<{ heading: string; code: string }> {
  const out: Array<{ heading: string; code: string }> = [];
  let heading = '';
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (/^#{2,3} /.test(lines[i])) heading = lines[i].replace(/^#+ /, '');
    if (lines[i].trim() === '```' + lang) {
      const start = ++i;
      while (i < lines.length && lines[i].trim() !== '```') i++;
      out.push({ heading, code: lines.slice(start, i).join('\n') });
    }
  }
  return out;
}

export interface ShellCommand {
  code: string;
  comment: string;
}

/**
 * Splits shell text into commands the way bash reads it, as far as the README needs: a line
 * ends a command unless it ends in a backslash or is inside quotes; `#` at a word start
 * outside quotes begins a comment. Comment-only lines are dropped.
 */
export function shellCommands(text: string): ShellCommand[] {
  const out: ShellCommand[] = [];
  let code = '';
  let comment = '';
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') {
        code += c + (text[++i] ?? '');
        continue;
      }
      if (c === quote) quote = null;
      code += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      code += c;
    } else if (c === '\\' && text[i + 1] === '\n') {
      code += ' ';
      i++;
    } else if (c === '#' && (code === '' || /\s$/.test(code))) {
      const end = text.indexOf('\n', i);
      comment += text.slice(i, end === -1 ? text.length : end);
      i = (end === -1 ? text.length : end) - 1;
    } else if (c === '\n') {
      if (code.trim()) out.push({ code: code.trim(), comment: comment.trim() });
      code = '';
      comment = '';
    } else code += c;
  }
  if (code.trim()) out.push({ code: code.trim(), comment: comment.trim() });
  return out;
}

/** The statuses a command's comment states first: `# 200`, `# 200 or 409: ...`, `# 202, Location...`. */
export function statedStatuses(comment: string): number[] {
  const m = /^#\s*([1-5]\d\d(?:\s*(?:,|or)\s*[1-5]\d\d)*)\b/.exec(comment);
  return m ? m[1].split(/\s*(?:,|or)\s*/).map(Number) : [];
}

describe('README', () => {
  it('reads shell commands as bash does: continuations, quotes across lines, comments', () => {
    const cmds = shellCommands("curl -d '{\n \"a\": 1 # not a comment\n}' \\\n  http://x   # 201: made\n# only a comment\nX=$(curl -s y | jq -r '.a')  # 200\n");
    assert.deepEqual(cmds, [
      { code: 'curl -d \'{\n "a": 1 # not a comment\n}\'    http://x', comment: '# 201: made' },
      { code: "X=$(curl -s y | jq -r '.a')", comment: '# 200' },
    ]);
    assert.deepEqual(statedStatuses('# 200 or 202 or 409: queued: 200'), [200, 202, 409]);
    assert.deepEqual(statedStatuses('# 202, Location: /api/v1/executions/ID'), [202]);
    assert.deepEqual(statedStatuses('# runs every 500 ms'), []);
  });

  it('states the status of every curl in its bash blocks', () => {
    const cmds = blocks('bash').flatMap((b) => shellCommands(b.code));
    const curls = cmds.filter((c) => /\bcurl\b/.test(c.code));
    assert.ok(curls.length >= 35, `${curls.length} curls`);
    for (const c of curls) {
      assert.equal(c.code.match(/\bcurl\b/g)!.length, 1, `one curl per command: ${c.code}`);
      assert.ok(statedStatuses(c.comment).length > 0, `no status stated for: ${c.code}`);
      assert.doesNotMatch(c.code, /\/(RUN_ID|BATCH_ID|WORKER_ID|ID)\b/, `a placeholder where a shell variable belongs: ${c.code}`);
    }
  });
});

describe('README, run against a started service', { timeout: 300_000 }, () => {
  let db: TestDatabase;
  let svc: Running;
  let port: number;
  let work: string;
  before(async () => {
    db = await testDatabase('embedded');
    svc = await startService(db, { PORT: '0', HOST: '127.0.0.1', JOBS_DEFAULT_JOBS_DIR: path.join(projectRoot, 'default-jobs') });
    port = await svc.service.listen();
    // Inside the project, so that `jobs-service/client` resolves to this package.
    await fs.mkdir(path.join(projectRoot, '.test-data'), { recursive: true });
    work = await fs.mkdtemp(path.join(projectRoot, '.test-data', 'readme-'));
  });
  after(async () => {
    await svc?.close();
    await db?.drop();
    if (work) await fs.rm(work, { recursive: true, force: true });
  });

  const here = (text: string) => text.replaceAll('localhost:34000', `127.0.0.1:${port}`).replaceAll('127.0.0.1:34000', `127.0.0.1:${port}`);

  async function snapshot() {
    const jobs = (await svc.http.get('/api/v1/jobs?job_type=user&limit=1000').expect(200)).body.jobs.map((j: { job_id: string; state: string }) => `${j.job_id}:${j.state}`);
    const workers = (await svc.http.get('/api/v1/workers').expect(200)).body.workers.map((w: { state: string }) => w.state);
    const state = (await svc.http.get('/api/v1/service/state').expect(200)).body.state;
    return { jobs, workers, state };
  }

  it('runs every bash block in order; each curl answers the status it states; the service is left as it was', async (t) => {
    const before = await snapshot();
    const commands = blocks('bash').flatMap((b) => shellCommands(b.code));
    const expected = commands.filter((c) => /\bcurl\b/.test(c.code)).map((c) => ({ code: c.code, statuses: statedStatuses(c.comment) }));
    const statusLog = path.join(work, 'statuses');
    // curl is wrapped to log each answer's status; jq, when missing, is read with node.
    const prelude = `set -eo pipefail
curl() {
  local body code
  body=$(mktemp)
  code=$(command curl -sS -o "$body" -w '%{http_code}' "$@")
  cat "$body"; echo
  rm -f "$body"
  echo "$code" >> ${JSON.stringify(statusLog)}
}
if ! command -v jq >/dev/null; then
  jq() {
    [ "$1" = -r ] && shift
    ${JSON.stringify(process.execPath)} -e 'let v = JSON.parse(require("fs").readFileSync(0, "utf8")); for (const [, k, i] of process.argv[1].matchAll(/\\.(\\w+)|\\[(\\d+)\\]/g)) v = v?.[k ?? Number(i)]; console.log(typeof v === "string" ? v : JSON.stringify(v ?? null))' "$1"
  }
fi
`;
    const script =
      prelude +
      blocks('bash')
        .map((b) => `# --- ${b.heading}\n${here(b.code)}\n`)
        .join('\n');
    await fs.writeFile(path.join(work, 'tour.sh'), script);
    let out: string;
    try {
      out = (await run('bash', [path.join(work, 'tour.sh')], { cwd: work, maxBuffer: 64 * 1024 * 1024, timeout: 180_000 })).stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      assert.fail(`the tour stopped: ${e.stderr}\n${e.stdout?.slice(-3000)}`);
    }
    t.diagnostic(`tour output: ${out.length} bytes`);
    const got = (await fs.readFile(statusLog, 'utf8')).trim().split('\n').map(Number);
    assert.equal(got.length, expected.length, `${got.length} curls ran, ${expected.length} in the README`);
    expected.forEach((e, i) => assert.ok(e.statuses.includes(got[i]), `answered ${got[i]}, the README says ${e.statuses.join(' or ')}: ${e.code}`));

    // Runs the tour queued end; nothing is left blocked, paused or created.
    await waitFor(
      'the tour runs to end',
      async () => {
        const q = (await svc.http.get('/api/v1/executions?status=queued').expect(200)).body.executions.length;
        const r = (await svc.http.get('/api/v1/executions?status=running').expect(200)).body.executions.length;
        return q + r === 0;
      },
      60_000,
    );
    assert.deepEqual(await snapshot(), before);
  });

  it('the default-job example of the README loads and its run succeeds', async () => {
    const example = blocks('yaml').find((b) => b.heading === 'Default jobs');
    assert.ok(example, 'a yaml block under Default jobs');
    const dir = await tempDir('readme-defaults');
    await fs.copyFile(path.join(projectRoot, 'default-jobs', 'self-check.yaml'), path.join(dir, 'self-check.yaml'));
    await fs.writeFile(path.join(dir, 'example.yaml'), example.code);
    const jobId = /^job_id: (\S+)$/m.exec(example.code)![1];
    const otherDb = await testDatabase('embedded');
    const other = await startService(otherDb, { PORT: '0', HOST: '127.0.0.1', JOBS_DEFAULT_JOBS_DIR: dir });
    try {
      await other.service.listen();
      const id = (await other.http.post(`/api/v1/jobs/${jobId}/executions`).expect(202)).body.execution_ids[0];
      const ended = await waitFor(
        `run of ${jobId}`,
        async () => {
          const r = (await other.http.get(`/api/v1/executions/${id}`).expect(200)).body;
          return ['queued', 'running'].includes(r.status) ? null : r;
        },
        30_000,
      );
      assert.equal(ended.status, 'succeeded', JSON.stringify(ended));
    } finally {
      await other.close();
      await otherDb.drop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  for (const [lang, runner] of [
    ['ts', ['--import', 'tsx']],
    ['js', []],
  ] as const) {
    it(`the client SDK example in ${lang === 'ts' ? 'TypeScript' : 'plain JavaScript'} runs as shown`, async () => {
      const example = blocks(lang).find((b) => b.heading === 'Client SDK');
      assert.ok(example, `a ${lang} block under Client SDK`);
      const file = path.join(work, `sdk-example.${lang === 'ts' ? 'ts' : 'mjs'}`);
      await fs.writeFile(file, here(example.code));
      const { stdout } = await run(process.execPath, [...runner, file], { cwd: projectRoot, timeout: 120_000 });
      assert.match(stdout, /^greeter /m);
      assert.match(stdout, /^succeeded \d+$/m);
      assert.match(stdout, /\{ succeeded: 3 \}/);
      assert.match(stdout, /^followed succeeded$/m);
      assert.match(stdout, /^409 Job exists/m);
      assert.equal((await svc.http.get('/api/v1/jobs/greeter')).status, 404, 'the example deletes its job');
    });
  }
});
