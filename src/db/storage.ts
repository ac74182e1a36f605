/**
 * Writes that fail for want of room or of write access: a full disk (ENOSPC, PostgreSQL's
 * `53100 disk_full`, MongoDB's OutOfDiskSpace) or storage mounted read-only (EROFS). The
 * service answers them 503 with the reason, not 500: nothing is wrong with the request, and
 * the same write succeeds once space is freed.
 */
export function storageFault(err: unknown): string | null {
  const e = err as { name?: unknown; code?: unknown; errno?: unknown; message?: unknown } | null | undefined;
  const code = e?.code;
  const message = typeof e?.message === 'string' ? e.message : '';
  // PGlite's file system throws Emscripten's ErrnoError, numbered its own way: 51 is ENOSPC, 69 EROFS.
  const wasm = e?.name === 'ErrnoError' ? e.errno : undefined;
  if (code === '53100' || code === 'ENOSPC' || code === 14031 || wasm === 51 || /No space left on device|ENOSPC/i.test(message)) return 'the disk holding the database is full';
  if (code === 'EROFS' || wasm === 69 || /Read-only file system|EROFS/i.test(message)) return "the database's storage is read-only";
  return null;
}

/** An error as words, whatever was thrown (PGlite throws objects that are not Errors). */
export function describeError(err: unknown): string {
  const fault = storageFault(err);
  const e = err as { name?: unknown; errno?: unknown; message?: unknown } | null | undefined;
  const detail =
    typeof e?.message === 'string' && e.message !== ''
      ? e.message
      : e?.name === 'ErrnoError'
        ? `file system error ${String(e.errno)}`
        : typeof err === 'object' && err !== null
          ? JSON.stringify(err)
          : String(err);
  return fault ? `${fault} (${detail})` : detail;
}

/** What readiness asks: null when the database's storage takes writes, else why it does not. */
export interface StorageCheck {
  check(): Promise<string | null>;
}

/**
 * The last storage fault a write of this process met, kept until a write succeeds again:
 * readiness then reports it. While one is on record, each check makes a small write of its
 * own (`probe`), which clears it when it succeeds.
 */
export class StorageWatch implements StorageCheck {
  private fault: { reason: string; since: Date } | null = null;

  constructor(private readonly probe: () => Promise<void>) {}

  /** Looks at a failed statement's error: a storage fault is kept. */
  note(err: unknown) {
    const reason = storageFault(err);
    if (reason && this.fault?.reason !== reason) this.fault = { reason, since: new Date() };
  }

  async check(): Promise<string | null> {
    if (!this.fault) return null;
    try {
      await this.probe();
      this.fault = null;
      return null;
    } catch (err) {
      this.note(err);
      const fault = this.fault as { reason: string; since: Date } | null;
      return fault ? `${fault.reason} (writes failing since ${fault.since.toISOString()})` : null;
    }
  }
}
