/** One scrape, read as Prometheus reads the text format: sample name and labels → value. */
export class Scrape {
  private readonly samples = new Map<string, number>();
  private readonly series: Array<{ name: string; labels: Record<string, string> }> = [];
  readonly types = new Map<string, string>();

  constructor(readonly text: string) {
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type) {
        this.types.set(type[1] as string, type[2] as string);
        continue;
      }
      if (line.startsWith("#")) continue;
      const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!sample) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (sample[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[pair[1] as string] = (pair[2] as string).replace(/\\(.)/g, (_, c: string) =>
          c === "n" ? "\n" : c,
        );
      }
      const key = Scrape.key(sample[1] as string, labels);
      if (this.samples.has(key)) throw new Error(`sample twice: ${key}`);
      this.samples.set(key, Number(sample[3]));
      this.series.push({ name: sample[1] as string, labels });
    }
  }

  static async of(response: Response): Promise<Scrape> {
    if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
    return new Scrape(await response.text());
  }

  private static key(name: string, labels: Record<string, string>): string {
    const sorted = Object.keys(labels)
      .sort()
      .map((label) => `${label}=${JSON.stringify(labels[label])}`);
    return `${name}{${sorted.join(",")}}`;
  }

  /** The sample's value; undefined when the scrape has no such sample. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    return this.samples.get(Scrape.key(name, labels));
  }

  /** Every sample name of the scrape (a histogram's as `_bucket`, `_sum`, `_count`). */
  names(): Set<string> {
    return new Set(this.series.map((each) => each.name));
  }

  /** Whether a sample of this name carries these labels (and maybe others). */
  hasSeries(name: string, labels: Record<string, string>): boolean {
    return this.series.some(
      (each) =>
        each.name === name && Object.entries(labels).every(([label, value]) => each.labels[label] === value),
    );
  }

  /** Every sample of this name that is not 0, as `{label="value",…}` → value: a whole metric at a glance. */
  nonZero(name: string): Record<string, number> {
    const found: Record<string, number> = {};
    for (const [key, value] of this.samples) {
      if (value !== 0 && key.startsWith(`${name}{`)) found[key.slice(name.length)] = value;
    }
    return found;
  }
}
