import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { scaled, sleep } from './time.js';

const run = promisify(execFile);

/** The image every container test runs: Debian's busybox-static in an empty root filesystem. */
export const TEST_IMAGE = 'localhost/jobs-busybox:test';

/**
 * A container engine for the tests: the one .ci/run started (TEST_CONTAINER_ENGINE, holding
 * TEST_IMAGE), or else one of the test's own, made the same way: Podman's Docker-compatible
 * service on a socket in a temporary folder, with storage, run state and containers.conf of its
 * own (runc, cgroupfs, no default ulimits, no network unless asked), and TEST_IMAGE imported
 * into it. Nothing in /etc is read or changed but Podman's defaults.
 */
export interface TestEngine {
  /** For JOBS_CONTAINER_ENGINE. */
  address: string;
  stop(): Promise<void>;
}

const CONTAINERS_CONF = `[containers]
default_ulimits = []
netns = "none"
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`;

async function which(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const file = path.join(dir, name);
    try {
      await fs.access(file, fs.constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return null;
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath: socket, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/**
 * Starts the engine, or answers why it cannot (no podman, runc or busybox-static, not root,
 * or the service does not come up): the caller skips its tests with that reason.
 */
export async function startTestEngine(): Promise<TestEngine | { skip: string }> {
  const shared = process.env.TEST_CONTAINER_ENGINE?.trim();
  if (shared) {
    const socket = shared.replace(/^unix:\/\//, '');
    if (!(await ping(socket))) return { skip: `the container engine at TEST_CONTAINER_ENGINE=${shared} does not answer` };
    return { address: shared, stop: async () => undefined };
  }
  if (process.platform !== 'linux') return { skip: `container tests need Linux; this is ${process.platform}` };
  if (process.getuid?.() !== 0) return { skip: 'container tests run podman as root; this process is not root' };
  const podmanBin = await which('podman');
  if (!podmanBin) return { skip: 'podman is not installed (.ci/run installs podman, runc and busybox-static with apt)' };
  if (!(await which('runc'))) return { skip: 'runc is not installed (.ci/run installs it with apt)' };
  // Debian's busybox-static: a busybox that needs no library inside the image.
  const busybox = (await which('busybox')) ?? '/bin/busybox';
  try {
    await fs.access(busybox, fs.constants.X_OK);
  } catch {
    return { skip: 'busybox-static is not installed (.ci/run installs it with apt)' };
  }

  // podman refuses a runroot longer than 50 characters: the test runner's temporary folder (on
  // /dev/shm) is too deep for it, so a long one gives way to /tmp.
  const prefix = 'jobs-service-podman-XXXXXX/run';
  const dir = await fs.mkdtemp(path.join(path.join(os.tmpdir(), prefix).length <= 50 ? os.tmpdir() : '/tmp', 'jobs-service-podman-'));
  const conf = path.join(dir, 'containers.conf');
  await fs.writeFile(conf, CONTAINERS_CONF);
  const socket = path.join(dir, 'podman.sock');
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const base = ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'run'), '--storage-driver', 'vfs', '--tmpdir', path.join(dir, 'tmp')];
  const podman = async (args: string[]) => (await run(podmanBin, [...base, ...args], { env, maxBuffer: 16 * 1024 * 1024 })).stdout;

  let service: ChildProcess | undefined;
  let log = '';
  const stop = async () => {
    if (service && service.exitCode === null && service.signalCode === null) {
      const exited = new Promise<void>((resolve) => service!.once('exit', () => resolve()));
      service.kill('SIGTERM');
      const killer = setTimeout(() => service!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    // Containers left by a failed test; then the folder (vfs layers are plain files).
    await podman(['rm', '--all', '--force', '--time', '0']).catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    // The image: a root filesystem holding busybox and its applets' names, imported as one layer.
    const rootfs = path.join(dir, 'rootfs');
    await fs.mkdir(path.join(rootfs, 'bin'), { recursive: true });
    await fs.mkdir(path.join(rootfs, 'tmp'), { recursive: true });
    await fs.copyFile(busybox, path.join(rootfs, 'bin', 'busybox'));
    await fs.chmod(path.join(rootfs, 'bin', 'busybox'), 0o755);
    for (const applet of ['sh', 'echo', 'sleep', 'cat', 'ls', 'env', 'true', 'false', 'id', 'pwd', 'seq', 'printf', 'yes', 'head']) {
      await fs.symlink('busybox', path.join(rootfs, 'bin', applet));
    }
    const tar = path.join(dir, 'rootfs.tar');
    await run('tar', ['-C', rootfs, '-cf', tar, '.']);
    await fs.mkdir(path.join(dir, 'tmp'), { recursive: true });
    await podman(['import', '--change', 'ENV=PATH=/bin', '--change', 'CMD=["/bin/sh"]', tar, TEST_IMAGE]);

    service = spawn(podmanBin, [...base, 'system', 'service', '--time=0', `unix://${socket}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    service.stdout!.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
    service.stderr!.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
    const deadline = Date.now() + scaled(20_000);
    while (!(await ping(socket))) {
      if (service.exitCode !== null || Date.now() > deadline) throw new Error(`podman system service did not answer on ${socket}: ${log.trim() || 'no output'}`);
      await sleep(100);
    }
    // One container, so a machine where runc cannot run one is told apart from a failing test.
    await podman(['run', '--rm', '--network', 'none', TEST_IMAGE, '/bin/true']);
  } catch (err) {
    await stop();
    const e = err as { stderr?: string; message: string };
    return { skip: `the container engine could not start here: ${(e.stderr || e.message).trim().slice(0, 1000)}` };
  }
  return { address: `unix://${socket}`, stop };
}
