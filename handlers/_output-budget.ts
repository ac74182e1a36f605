/**
 * A run's output kept within a budget of bytes and lines (not a handler: the catalog skips
 * files starting with `_`). The first half of the budget is logged as it comes; past it, only
 * the newest lines that fit the other half are held, and logged when the output ends, after a
 * line saying how much was left out. Memory stays within the budget whatever the script prints.
 */
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

  /** Logs what was held back; `name` names the script in the line about what was left out. */
  end(name: string) {
    if (this.droppedLines > 0) {
      this.emit(
        'warn',
        `[run-script] output of ${name} beyond ${this.maxBytes} bytes or ${this.maxLines} lines (JOBS_SCRIPT_OUTPUT_BYTES, JOBS_SCRIPT_OUTPUT_LINES): ` +
          `${this.droppedLines} lines (${this.droppedBytes} bytes) left out here; the last ${this.tail.length - this.tailStart} follow`,
      );
    }
    for (let i = this.tailStart; i < this.tail.length; i++) this.emit(this.tail[i].level, this.tail[i].text);
    this.tail.length = 0;
    this.tailStart = 0;
    this.tailBytes = 0;
  }
}
