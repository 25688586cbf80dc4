import type { DestinationName } from '../../infra/config/pipeline-config';

/**
 * Sums the CloudWatch EMF metrics the functions print (Powertools Metrics), per destination: the local equivalent of
 * reading the `OrderedFanout` namespace in CloudWatch. Given a `service` (the pipeline's name), it reads only that
 * pipeline's documents, as the stack's alarms and dashboard read only its series.
 */
export class FunctionMetrics {
  readonly #service: string | undefined;
  readonly #totals = new Map<string, Map<string, number>>();
  /** Maximum per metric, for gauges such as `OldestParkedAge`. */
  readonly #maxima = new Map<string, Map<string, number>>();
  #lastSeen = new Map<string, number>();

  /** @param service the `service` dimension to read. @default every document, whatever its service */
  constructor(service?: string) {
    this.#service = service;
  }

  /** Feeds one log line; lines that are not EMF documents are ignored. */
  accept(line: string): void {
    if (!line.startsWith('{') || !line.includes('"_aws"')) return;
    let document: Record<string, unknown>;
    try {
      document = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (this.#service !== undefined && document.service !== this.#service) return;
    const meta = document._aws as { CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] } | undefined;
    const destination = typeof document.destination === 'string' ? document.destination : 'unknown';
    const totals = this.#get(this.#totals, destination);
    const maxima = this.#get(this.#maxima, destination);
    for (const directive of meta?.CloudWatchMetrics ?? []) {
      for (const { Name } of directive.Metrics ?? []) {
        const raw = document[Name];
        const values = (Array.isArray(raw) ? raw : [raw]).filter((value): value is number => typeof value === 'number');
        for (const value of values) {
          totals.set(Name, (totals.get(Name) ?? 0) + value);
          maxima.set(Name, Math.max(maxima.get(Name) ?? 0, value));
        }
      }
    }
    this.#lastSeen.set(destination, Date.now());
  }

  total(destination: DestinationName | (string & {}), metric: string): number {
    return this.#totals.get(destination)?.get(metric) ?? 0;
  }

  max(destination: DestinationName | (string & {}), metric: string): number {
    return this.#maxima.get(destination)?.get(metric) ?? 0;
  }

  #get(map: Map<string, Map<string, number>>, destination: string): Map<string, number> {
    let inner = map.get(destination);
    if (!inner) map.set(destination, (inner = new Map()));
    return inner;
  }
}
