#!/usr/bin/env node
import { main } from './program.js';

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  // Not the service's answer nor a usage error: a bug, or something else answering at --url.
  process.stderr.write(`jobsctl: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
}
