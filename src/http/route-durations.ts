// Request durations by method, route and status, as a Prometheus histogram that costs the request
// an array increment. prom-client's Histogram joins and hashes the label values into a string on
// every observe(); on the JWKS route that cost ~1.5 µs of the ~20 a request took (measured with
// bench/run.mjs). Here each route holds its own series, found by status in a small Map; the exposition
// is built only when /metrics is scraped.
import type { Metric, Registry } from "prom-client";

type Series = { labels: Record<string, string>; counts: number[]; sum: number; count: number };

export class RouteDurations {
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly name: string;
  readonly help: string;
  readonly buckets: readonly number[];
  readonly #series: Series[] = [];

  constructor(name: string, help: string, buckets: readonly number[], registry: Registry) {
    this.name = name;
    this.help = help;
    this.buckets = buckets;
    // prom-client's registry reads any metric through name, help, type and get(); its types name
    // only its own classes.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The recorder of one route: (status, seconds). */
  route(method: string, route: string): (status: number, seconds: number) => void {
    const byStatus = new Map<number, Series>();
    return (status, seconds) => {
      let series = byStatus.get(status);
      if (!series) {
        series = { labels: { method, route, status: String(status) }, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
        byStatus.set(status, series);
        this.#series.push(series);
      }
      let bucket = 0;
      while (bucket < this.buckets.length && seconds > this.buckets[bucket]!) bucket++;
      if (bucket < this.buckets.length) series.counts[bucket]!++; // else only in +Inf, which is count
      series.sum += seconds;
      series.count++;
    };
  }

  /** What prom-client's registry formats: cumulative buckets, then +Inf, sum and count. */
  async get() {
    const values = this.#series.flatMap(({ labels, counts, sum, count }) => {
      let cumulative = 0;
      const bucket = (le: number | string, value: number) => ({ metricName: `${this.name}_bucket`, labels: { le }, sharedLabels: labels, value });
      return [
        ...this.buckets.map((le, i) => bucket(le, (cumulative += counts[i]!))),
        bucket("+Inf", count),
        { metricName: `${this.name}_sum`, labels: {}, sharedLabels: labels, value: sum },
        { metricName: `${this.name}_count`, labels: {}, sharedLabels: labels, value: count },
      ];
    });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const series of this.#series) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
