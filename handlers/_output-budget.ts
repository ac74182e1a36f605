/**
 * A run's output kept within a budget of bytes and lines (not a handler: the catalog skips
 * files starting with `_`). The first half of the budget is logged as it comes; past it, only
 * the newest lines that fit the other half are held, and logged when the output ends, after a
 * line saying how much was left out. Memory stays within the budget whatever the script prints.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export type Level = 'info' | 'warn';

interface Held {
  level: Level;
  text: string;
  bytes: number;
}

export class OutputBudget {
  private headBytes = 0;
  private headLines = 0;
  private readonly tail: Held[] = [];
  private tailStart = 0;
  private tailBytes = 0;
  private droppedLines = 0;
  private droppedBytes = 0;
  private readonly halfBytes: number;
  private readonly halfLines: number;

  constructor(
    private readonly maxBytes: number,
    private readonly maxLines: number,
    private readonly emit: (level: Level, text: string) => void,
    /** Who speaks in the line about what was left out, and the settings that bound it. */
    private readonly source = { tag: 'run-script', settings: 'JOBS_SCRIPT_OUTPUT_BYTES, JOBS_SCRIPT_OUTPUT_LINES' },
  ) {
    this.halfBytes = Math.floor(maxBytes / 2);
    this.halfLines = Math.max(1, Math.floor(maxLines / 2));
  }

  /** The longest piece a line is cut into, in characters, so one piece never exceeds a half. */
  get pieceChars(): number {
    return Math.max(1, Math.min(64 * 1024, Math.floor(this.halfBytes / 4)));
  }

  line(level: Level, text: string) {
    const bytes = Buffer.byteLength(text) + 1;
    if (this.tail.length === this.tailStart && this.headLines < this.halfLines && this.headBytes + bytes <= this.halfBytes) {
      this.headLines += 1;
      this.headBytes += bytes;
      this.emit(level, text);
      return;
    }
    this.tail.push({ level, text, bytes });
    this.tailBytes += bytes;
    while (this.tailStart < this.tail.length && (this.tail.length - this.tailStart > this.halfLines || this.tailBytes > this.halfBytes)) {
      const old = this.tail[this.tailStart];
      this.tail[this.tailStart] = undefined as unknown as Held;
      this.tailStart += 1;
      this.tailBytes -= old.bytes;
      this.droppedLines += 1;
      this.droppedBytes += old.bytes;
    }
    if (this.tailStart > 1024 && this.tailStart * 2 > this.tail.length) {
      this.tail.splice(0, this.tailStart);
      this.tailStart = 0;
    }
  }

  /** Logs what was held back; `name` names the script or image in the line about what was left out. */
  end(name: string) {
    if (this.droppedLines > 0) {
      this.emit(
        'warn',
        `[${this.source.tag}] output of ${name} beyond ${this.maxBytes} bytes or ${this.maxLines} lines (${this.source.settings}): ` +
          `${this.droppedLines} lines (${this.droppedBytes} bytes) left out here; the last ${this.tail.length - this.tailStart} follow`,
      );
    }
    for (let i = this.tailStart; i < this.tail.length; i++) this.emit(this.tail[i].level, this.tail[i].text);
    this.tail.length = 0;
    this.tailStart = 0;
    this.tailBytes = 0;
  }
}

/**
 * Calls `emit` for every line of a stream; a line longer than `pieceChars` is emitted in pieces,
 * so no partial line grows unbounded. `flush()` emits a trailing line without newline.
 */
export function lineReader(stream: Readable, pieceChars: number, emit: (line: string) => void) {
  const decoder = new StringDecoder('utf8');
  // At most pieceChars: text is cut where it arrives, never joined into one long string.
  let pending = '';
  const push = (text: string) => {
    let start = 0;
    while (start < text.length) {
      const nl = text.indexOf('\n', start);
      let segment = text.slice(start, nl < 0 ? text.length : nl);
      while (pending.length + segment.length > pieceChars) {
        const take = pieceChars - pending.length;
        emit(pending + segment.slice(0, take));
        pending = '';
        segment = segment.slice(take);
      }
      pending += segment;
      if (nl < 0) break;
      emit(pending.endsWith('\r') ? pending.slice(0, -1) : pending);
      pending = '';
      start = nl + 1;
    }
  };
  stream.on('data', (chunk: Buffer) => push(decoder.write(chunk)));
  const flush = () => {
    push(decoder.end());
    if (pending) emit(pending.endsWith('\r') ? pending.slice(0, -1) : pending);
    pending = '';
  };
  stream.on('end', flush);
  return { flush };
}
