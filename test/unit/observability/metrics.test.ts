import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { describe, expect, test } from 'vitest';
import { createMetrics, METRICS } from '../../../shared/observability/index.ts';

function setup() {
  const documents: string[] = [];
  const metrics = createMetrics({
    namespace: 'TallyfyServerless',
    serviceName: 'event-worker',
    sink: (emf) => documents.push(emf),
  });
  return { metrics, documents, parsed: () => documents.map((d) => JSON.parse(d)) };
}

describe('createMetrics', () => {
  test('record() uses the catalogued unit and a flush writes one EMF document', () => {
    const { metrics, parsed } = setup();
    metrics.record('EventsProcessed', 3);
    metrics.record('TallyfyRequestDuration', 125);
    metrics.publishStoredMetrics();
    const [emf] = parsed();
    expect(parsed()).toHaveLength(1);
    expect(emf._aws.CloudWatchMetrics[0]).toEqual({
      Namespace: 'TallyfyServerless',
      Dimensions: [['service']],
      Metrics: [
        { Name: 'EventsProcessed', Unit: 'Count' },
        { Name: 'TallyfyRequestDuration', Unit: 'Milliseconds' },
      ],
    });
    expect(emf).toMatchObject({
      service: 'event-worker',
      EventsProcessed: 3,
      TallyfyRequestDuration: 125,
    });
  });

  test('a flush clears what it wrote and an empty flush writes nothing', () => {
    const { metrics, documents } = setup();
    metrics.record('WebhookAccepted');
    metrics.publishStoredMetrics();
    metrics.publishStoredMetrics();
    expect(documents).toHaveLength(1);
  });

  test('single metrics go to the same sink at once', () => {
    const { metrics, parsed } = setup();
    metrics.singleMetric().record('OrgsDue', 12);
    expect(parsed()[0]).toMatchObject({ OrgsDue: 12, service: 'event-worker' });
  });

  test('every catalogued metric has a CloudWatch unit', () => {
    const units = new Set<string>(Object.values(MetricUnit));
    for (const unit of Object.values(METRICS)) expect(units).toContain(unit);
  });
});
