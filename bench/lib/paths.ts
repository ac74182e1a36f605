/**
 * Where things are, the same whether this file runs from bench/ (the orchestrator, under tsx)
 * or from dist/bench/ (the compiled children).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'openapi.yaml'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no project root above ${from}`);
  }
}

export const projectRoot = findRoot(path.dirname(fileURLToPath(import.meta.url)));
/** Compiled output: the service (dist/src, dist/handlers) and the bench (dist/bench). */
export const distDir = path.join(projectRoot, 'dist');
export const distBenchDir = path.join(distDir, 'bench');
