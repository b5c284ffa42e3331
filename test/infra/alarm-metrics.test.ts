/**
 * Alarms and dashboard widgets read the metrics the code emits, exactly: the same name (from
 * the catalogues the code records with), the same namespace (the function's
 * POWERTOOLS_METRICS_NAMESPACE) and the same dimensions (`service`, plus `orgId` for the
 * reporter). "Emits" is read from the code: a metric name counts only when a file reachable
 * from the service's `functions/<service>/index.ts` passes it to a metric call.
 */
import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, test } from 'vitest';
import { TallyfyStack, WEBHOOKS_THROTTLED_METRIC } from '../../infra/index.ts';
import { METRICS } from '../../shared/observability/metrics.ts';
import { SERVICE_NAMES } from '../../shared/observability/services.ts';
import { REPORT_METRICS } from '../../shared/reports/metrics.ts';
import {
  addsDimension,
  functionEntry,
  reachableFiles,
  recordedMetricNames,
  stripComments,
} from './emitters.ts';
import { newApp, TEST_ENV } from './support.ts';

const stack = new TallyfyStack(newApp(), 'Prod', { env: TEST_ENV });
const template = Template.fromStack(stack);
/** The template's resources (CloudFormation JSON, untyped as `findResources` returns it). */
const resources = template.toJSON().Resources as ReturnType<Template['findResources']>;

const SERVICES = new Set<string>(Object.values(SERVICE_NAMES));
const CATALOGUE = new Set<string>([...Object.keys(METRICS), ...Object.keys(REPORT_METRICS)]);

/** POWERTOOLS_METRICS_NAMESPACE of the function of each service. */
const namespaceOf = new Map<string, string>(
  Object.values(resources)
    .filter((r) => r.Type === 'AWS::Lambda::Function')
    .map((r) => {
      const vars = r.Properties.Environment.Variables;
      return [vars.POWERTOOLS_SERVICE_NAME, vars.POWERTOOLS_METRICS_NAMESPACE];
    }),
);
const DEPLOYMENT_NAMESPACE = 'TallyfyServerless/Prod';

/** Metric names each service's code records, read from the code. */
const emitted = new Map(
  [...SERVICES].map((service) => {
    const files = reachableFiles(functionEntry(service));
    return [service, { names: recordedMetricNames(files), orgId: addsDimension(files, 'orgId') }];
  }),
);

/** Metrics that metric filters of the template emit: `namespace/name`. */
const filterMetrics = new Set(
  Object.values(resources)
    .filter((r) => r.Type === 'AWS::Logs::MetricFilter')
    .flatMap((r) =>
      (r.Properties.MetricTransformations as Array<Record<string, unknown>>).map((t) => {
        expect(t.Dimensions, 'metric filters emit no dimensions').toBeUndefined();
        return `${t.MetricNamespace}/${t.MetricName}`;
      }),
    ),
);

type Dimension = { Name: string; Value: unknown };

/**
 * Checks one metric read in the deployment namespace against what the code emits; returns
 * the problem, or undefined. `dimensions` are name → value.
 */
function problemWith(
  namespace: string,
  name: string,
  dimensions: Record<string, unknown>,
): string | undefined {
  if (namespace !== DEPLOYMENT_NAMESPACE) return `namespace ${namespace}`;
  const dimensionNames = Object.keys(dimensions).sort();
  if (dimensionNames.length === 0) {
    return filterMetrics.has(`${namespace}/${name}`)
      ? undefined
      : `${name} without dimensions, and no metric filter emits it`;
  }
  if (dimensionNames.join(',') !== 'service') return `dimensions ${dimensionNames.join(',')}`;
  const service = String(dimensions.service);
  if (!SERVICES.has(service)) return `service ${service} is not in SERVICE_NAMES`;
  if (namespaceOf.get(service) !== namespace) {
    return `the ${service} function writes to ${namespaceOf.get(service)}, not ${namespace}`;
  }
  if (!CATALOGUE.has(name)) return `${name} is not in the METRICS catalogue`;
  if (!emitted.get(service)?.names.has(name)) return `no code of ${service} records ${name}`;
  return undefined;
}

const alarms = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');

describe('alarm metrics are the metrics the code emits', () => {
  test('the rescues alarm reads EventsRescued, the catalogue name the reconciler records', () => {
    const name = Object.keys(METRICS).find((n) => n === 'EventsRescued');
    expect(name).toBeDefined();
    const rescues = alarms.filter(([id]) => id.includes('RescuesAlarm'));
    expect(rescues.map(([, a]) => a.Properties.MetricName)).toEqual([name]);
    expect(emitted.get(SERVICE_NAMES.reconciler)?.names.has(name ?? '')).toBe(true);
  });

  test('the stack has alarms on our own metrics, in the namespace of the stack', () => {
    const own = alarms.filter(([, a]) => a.Properties.Namespace === DEPLOYMENT_NAMESPACE);
    expect(own).toHaveLength(8);
    for (const service of SERVICES) expect(namespaceOf.get(service)).toBe(DEPLOYMENT_NAMESPACE);
  });

  test('every alarm on one of our metrics names a metric its service emits, with exactly its dimensions', () => {
    for (const [id, alarm] of alarms) {
      const p = alarm.Properties;
      if (p.Metrics !== undefined || String(p.Namespace).startsWith('AWS/')) continue;
      const dimensions = Object.fromEntries(
        ((p.Dimensions ?? []) as Dimension[]).map((d) => [d.Name, d.Value]),
      );
      expect(problemWith(p.Namespace, p.MetricName, dimensions), id).toBeUndefined();
    }
  });

  test('every Metrics Insights alarm sums a metric the service emits with orgId and service', () => {
    const insights = alarms.filter(([, a]) => a.Properties.Metrics !== undefined);
    expect(insights.length).toBeGreaterThan(0);
    for (const [id, alarm] of insights) {
      const expression = String(alarm.Properties.Metrics[0].Expression);
      const parsed =
        /^SELECT SUM\((\w+)\) FROM SCHEMA\("([^"]+)", orgId, service\) WHERE service = '([a-z-]+)'$/.exec(
          expression,
        );
      expect(parsed, `${id}: ${expression}`).not.toBeNull();
      const [, name, namespace, service] = parsed as unknown as [string, string, string, string];
      expect(namespace, id).toBe(namespaceOf.get(service));
      expect(Object.keys(REPORT_METRICS), id).toContain(name);
      expect(emitted.get(service)?.names.has(name), `${service} records ${name}`).toBe(true);
      expect(emitted.get(service)?.orgId, `${service} adds the orgId dimension`).toBe(true);
    }
  });

  test('every AWS metric an alarm reads belongs to a resource of this stack', () => {
    const typeOf = (value: unknown): string | undefined => {
      const ref = (value as { Ref?: string }).Ref;
      const att = (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
      return resources[ref ?? att ?? '']?.Type;
    };
    const expected: Record<string, string> = {
      QueueName: 'AWS::SQS::Queue',
      FunctionName: 'AWS::Lambda::Function',
      ApiId: 'AWS::ApiGatewayV2::Api',
    };
    const aws = alarms.filter(([, a]) => String(a.Properties.Namespace).startsWith('AWS/'));
    expect(aws.length).toBeGreaterThan(0);
    for (const [id, alarm] of aws) {
      const dimensions = alarm.Properties.Dimensions as Dimension[];
      expect(dimensions, id).toHaveLength(1);
      const [dimension] = dimensions as [Dimension];
      expect(typeOf(dimension.Value), id).toBe(expected[dimension.Name]);
    }
  });

  test('the 429 alarm reads the metric the access-log filter emits from status 429', () => {
    const filter = Object.values(resources).find((r) => r.Type === 'AWS::Logs::MetricFilter');
    expect(filter?.Properties).toMatchObject({
      FilterPattern: '{ $.status = "429" }',
      MetricTransformations: [
        {
          MetricNamespace: DEPLOYMENT_NAMESPACE,
          MetricName: WEBHOOKS_THROTTLED_METRIC,
          MetricValue: '1',
        },
      ],
    });
    const throttled = alarms.filter(
      ([, a]) => a.Properties.MetricName === WEBHOOKS_THROTTLED_METRIC,
    );
    expect(throttled).toHaveLength(1);
  });
});

describe('the functions write to the namespace the stack gives them', () => {
  test('no code of a function passes a literal metrics namespace: it comes from POWERTOOLS_METRICS_NAMESPACE', () => {
    for (const service of SERVICES) {
      const files = reachableFiles(functionEntry(service));
      for (const file of files) {
        const source = stripComments(readFileSync(file, 'utf8'));
        expect(/namespace:\s*['"][^'"]+['"]/.test(source), `${file} (${service})`).toBe(false);
      }
      const telemetry = [...files].find((file) => file.endsWith('observability/telemetry.ts'));
      expect(
        telemetry,
        `${service} builds its metrics through createFunctionTelemetry`,
      ).toBeDefined();
      expect(readFileSync(telemetry ?? '', 'utf8')).toMatch(/namespace: log\.metricsNamespace/);
    }
  });
});

describe('dashboard metrics are the metrics the code emits', () => {
  const body = resources[
    Object.keys(resources).find((id) => resources[id]?.Type === 'AWS::CloudWatch::Dashboard') ?? ''
  ]?.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  // CloudFormation references sit inside JSON strings: a stand-in keeps the JSON valid
  const text = body['Fn::Join'][1]
    .map((part) => (typeof part === 'string' ? part : 'REF'))
    .join('');
  const widgets = (
    JSON.parse(text) as { widgets: Array<{ properties: { metrics?: unknown[][] } }> }
  ).widgets;
  const metricRows = widgets.flatMap((w) => w.properties.metrics ?? []);

  test('every metric of the deployment namespace on the dashboard is emitted with exactly its dimensions', () => {
    const ours = metricRows.filter((row) => row[0] === DEPLOYMENT_NAMESPACE);
    expect(ours.length).toBeGreaterThan(15);
    for (const row of ours) {
      const values = row.filter((cell) => typeof cell === 'string') as string[];
      const [namespace, name, ...pairs] = values as [string, string, ...string[]];
      const dimensions: Record<string, string> = {};
      for (let i = 0; i + 1 < pairs.length; i += 2)
        dimensions[pairs[i] as string] = pairs[i + 1] as string;
      expect(
        problemWith(namespace, name, dimensions),
        `${name} ${JSON.stringify(dimensions)}`,
      ).toBeUndefined();
    }
  });

  test('every Metrics Insights query on the dashboard reads the deployment namespace and an emitted metric', () => {
    const expressions = metricRows
      .map((row) => (row[0] as { expression?: string }).expression)
      .filter((e): e is string => typeof e === 'string');
    expect(expressions.length).toBeGreaterThan(0);
    for (const expression of expressions) {
      const parsed =
        /^SELECT SUM\((\w+)\) FROM SCHEMA\("([^"]+)", orgId, service\) WHERE service = '([a-z-]+)'$/.exec(
          expression,
        );
      expect(parsed, expression).not.toBeNull();
      const [, name, namespace, service] = parsed as unknown as [string, string, string, string];
      expect(namespace).toBe(DEPLOYMENT_NAMESPACE);
      expect(emitted.get(service)?.names.has(name), `${service} records ${name}`).toBe(true);
    }
  });
});
