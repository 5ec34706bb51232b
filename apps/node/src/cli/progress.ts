/** A one-line progress bar on stderr, drawn only when stderr is a terminal. */
export class ProgressBar {
  readonly #totalBytes: number | undefined;
  readonly #label: string;
  readonly #enabled: boolean;
  readonly #startedMs = performance.now();
  #lastDrawMs = 0;
  #bytes = 0;

  constructor(label: string, totalBytes: number | undefined, enabled = process.stderr.isTTY === true) {
    this.#label = label;
    this.#totalBytes = totalBytes;
    this.#enabled = enabled;
  }

  advance(bytes: number): void {
    this.#bytes += bytes;
    const now = performance.now();
    if (now - this.#lastDrawMs >= 100) {
      this.#lastDrawMs = now;
      this.#draw();
    }
  }

  done(): void {
    if (!this.#enabled) return;
    this.#draw();
    process.stderr.write('\n');
  }

  #draw(): void {
    if (!this.#enabled) return;
    const seconds = Math.max(0.001, (performance.now() - this.#startedMs) / 1000);
    const rate = `${formatBytes(this.#bytes / seconds)}/s`;
    let line = `${this.#label} ${formatBytes(this.#bytes)}`;
    if (this.#totalBytes !== undefined && this.#totalBytes > 0) {
      const fraction = Math.min(1, this.#bytes / this.#totalBytes);
      const width = 30;
      const filled = Math.round(fraction * width);
      line = `${this.#label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(this.#bytes)} of ${formatBytes(this.#totalBytes)}`;
    }
    process.stderr.write(`\r${line} ${rate}\u001b[K`);
  }
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
