import { type Aggregator, Counter, type MetricType, type Registry } from "prom-client";

/**
 * Metrics the click updates. prom-client's `inc`/`observe` hash the label set and allocate on
 * every call (≈0.3 µs each, measured in bench/metrics-cost.ts); here the hot path only adds
 * to a plain number bound once per label set, and prom-client reads the numbers at scrape time.
 */

/** One counter value for one label set; the hot path does `cell.value++`. */
export interface Cell {
  value: number;
}

type Labels<L extends string> = Record<L, string>;

/** A Prometheus counter whose label sets are bound to cells once, then updated without prom-client. */
export class CellCounter<L extends string> {
  private readonly cells: Array<{ labels: Labels<L>; cell: Cell }> = [];

  constructor(registry: Registry, name: string, help: string, labelNames: readonly L[]) {
    const cells = this.cells;
    new Counter<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        // Runs right before prom-client reads the values: the cells hold the totals.
        this.reset();
        for (const { labels, cell } of cells) this.inc(labels, cell.value);
      },
    });
  }

  /** The cell for this label set; call once per label set and keep it. */
  cell(labels: Labels<L>): Cell {
    const cell: Cell = { value: 0 };
    this.cells.push({ labels, cell });
    return cell;
  }
}

/**
 * One metric as prom-client's `getMetricsAsJSON` gives it: plain data that can cross to another
 * process, where `AggregatorRegistry.aggregate` adds up those of several workers.
 */
export interface MetricJson {
  name: string;
  help: string;
  // prom-client declares MetricType an enum of numbers; at run time it is the type's name.
  type: MetricType | string;
  aggregator: Aggregator;
  values: Array<{ value: number; labels: Partial<Record<string, string | number>>; metricName?: string }>;
}

/** One histogram series: cumulative counts are computed at scrape, the hot path fills one bucket. */
export interface HistogramCell {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  readonly counts: Float64Array;
  sum: number;
}

function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function formatNumber(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  return String(value);
}

/**
 * A Prometheus histogram with one label, kept in cells. prom-client offers no way to hand it
 * bucket counts, so this renders its own few lines of the text format (see `render`).
 */
export class CellHistogram {
  private readonly series: Array<{ labelValue: string; label: string; cell: HistogramCell }> = [];

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelName: string,
    private readonly bounds: readonly number[],
  ) {}

  cell(labelValue: string): HistogramCell {
    const cell: HistogramCell = { counts: new Float64Array(this.bounds.length + 1), sum: 0 };
    this.series.push({ labelValue, label: escapeLabelValue(labelValue), cell });
    return cell;
  }

  observe(cell: HistogramCell, value: number): void {
    const bounds = this.bounds;
    let slot = 0;
    while (slot < bounds.length && value > (bounds[slot] as number)) slot++;
    cell.counts[slot] = (cell.counts[slot] as number) + 1;
    cell.sum += value;
  }

  /** The Prometheus text format lines of this histogram (empty when it has no series yet). */
  render(): string {
    if (this.series.length === 0) return "";
    const { name, labelName, bounds } = this;
    const lines = [`# HELP ${name} ${this.help}`, `# TYPE ${name} histogram`];
    for (const { label, cell } of this.series) {
      let cumulative = 0;
      for (let slot = 0; slot <= bounds.length; slot++) {
        cumulative += cell.counts[slot] as number;
        const le = formatNumber(bounds[slot] ?? Number.POSITIVE_INFINITY);
        lines.push(`${name}_bucket{${labelName}="${label}",le="${le}"} ${cumulative}`);
      }
      lines.push(`${name}_sum{${labelName}="${label}"} ${cell.sum}`);
      lines.push(`${name}_count{${labelName}="${label}"} ${cumulative}`);
    }
    return `${lines.join("\n")}\n`;
  }

  /** The same series as `render`, as data (undefined when it has no series yet). */
  json(): MetricJson | undefined {
    if (this.series.length === 0) return undefined;
    const { name, labelName, bounds } = this;
    const values: MetricJson["values"] = [];
    for (const { labelValue, cell } of this.series) {
      let cumulative = 0;
      for (let slot = 0; slot <= bounds.length; slot++) {
        cumulative += cell.counts[slot] as number;
        const le = bounds[slot] ?? "+Inf";
        values.push({
          metricName: `${name}_bucket`,
          labels: { [labelName]: labelValue, le },
          value: cumulative,
        });
      }
      values.push({ metricName: `${name}_sum`, labels: { [labelName]: labelValue }, value: cell.sum });
      values.push({ metricName: `${name}_count`, labels: { [labelName]: labelValue }, value: cumulative });
    }
    return { name, help: this.help, type: "histogram", aggregator: "sum", values };
  }
}
