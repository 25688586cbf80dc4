import { describe, expect, it } from 'vitest';
import { FunctionMetrics } from '../../local/pipeline/function-metrics';

/** One EMF document as Powertools Metrics prints it. */
const emf = (service: string, destination: string, values: Record<string, number>): string =>
  JSON.stringify({
    _aws: { Timestamp: 1, CloudWatchMetrics: [{ Namespace: 'OrderedFanout', Dimensions: [['service', 'destination']], Metrics: Object.keys(values).map((Name) => ({ Name, Unit: 'Count' })) }] },
    service,
    destination,
    ...values,
  });

describe('FunctionMetrics', () => {
  it("given the pipeline's name, sums only that pipeline's documents, per destination, as its alarms read them", () => {
    const metrics = new FunctionMetrics('OrderedFanout');
    metrics.accept(emf('OrderedFanout', 'fraud', { DeadLettered: 2, OldestParkedAge: 30 }));
    metrics.accept(emf('OrderedFanout', 'fraud', { DeadLettered: 1, OldestParkedAge: 10 }));
    metrics.accept(emf('other-pipeline', 'fraud', { DeadLettered: 5, OldestParkedAge: 99 }));
    metrics.accept(emf('OrderedFanout', 'audit', { DeadLettered: 4 }));
    metrics.accept('{"level":"INFO","message":"batch done"}');
    expect(metrics.total('fraud', 'DeadLettered')).toBe(3);
    expect(metrics.max('fraud', 'OldestParkedAge')).toBe(30);
    expect(metrics.total('audit', 'DeadLettered')).toBe(4);
  });

  it('without a name, sums every document', () => {
    const metrics = new FunctionMetrics();
    metrics.accept(emf('OrderedFanout', 'fraud', { DeadLettered: 2 }));
    metrics.accept(emf('ordered-fanout', 'fraud', { DeadLettered: 5 }));
    expect(metrics.total('fraud', 'DeadLettered')).toBe(7);
  });
});
