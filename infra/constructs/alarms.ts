/**
 * Where alarms go: an SNS topic (ours, or the customer's) with an optional e-mail subscription.
 * Each part adds its own alarms through {@link AlarmTopic.notify}.
 */
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { acknowledgeRule } from './nag.ts';

/** Options of {@link AlarmTopic.alarm}. */
export interface TallyfyAlarmOptions {
  /** What the alarm means and where the runbook is (shown in the notification). */
  readonly description: string;
  /** The threshold the metric is compared with. */
  readonly threshold: number;
  /**
   * How the metric is compared with the threshold.
   * @default ComparisonOperator.GREATER_THAN_THRESHOLD
   */
  readonly comparison?: ComparisonOperator;
  /**
   * Periods evaluated.
   * @default 1
   */
  readonly evaluationPeriods?: number;
  /**
   * Breaching periods (of `evaluationPeriods`) that raise the alarm.
   * @default - all of them
   */
  readonly datapointsToAlarm?: number;
  /**
   * What a period without a datapoint counts as. The default suits metrics emitted when there
   * is something to report; a heartbeat breaches when missing, a state gauge keeps its state.
   * @default TreatMissingData.NOT_BREACHING
   */
  readonly treatMissingData?: TreatMissingData;
}

/** Properties of {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /**
   * An existing SNS topic to notify instead of creating one.
   * @default - a new topic
   */
  readonly topicArn?: string;
  /**
   * E-mail address subscribed to the topic (the recipient confirms by e-mail).
   * @default - no subscription
   */
  readonly email?: string;
}

/**
 * The alarm topic.
 *
 * @example
 * const alarms = new AlarmTopic(this, 'Alarms', { email: 'ops@example.com' });
 * alarms.notify(myAlarm);
 */
export class AlarmTopic extends Construct {
  /** The topic alarms publish to. */
  readonly topic: ITopic;

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
    if (props.email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.email)) {
      throw new Error(`AlarmTopic: email must be an e-mail address, got "${props.email}"`);
    }
    if (props.topicArn) {
      this.topic = Topic.fromTopicArn(this, 'Topic', props.topicArn);
    } else {
      const topic = new Topic(this, 'Topic', { enforceSSL: true });
      // CloudWatch can publish to an encrypted topic only through a customer key whose policy
      // admits cloudwatch.amazonaws.com; an imported key cannot be given that policy here.
      acknowledgeRule(
        topic,
        'SNS2',
        'Alarm notifications carry alarm names and states only, never org data or tokens; CloudWatch cannot publish to a topic under the AWS managed aws/sns key.',
      );
      this.topic = topic;
    }
    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));
  }

  /** Sends the alarm's ALARM and OK transitions to the topic. */
  notify(alarm: Alarm): Alarm {
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    return alarm;
  }

  /**
   * Creates an alarm on `metric` in `scope` that notifies the topic (on ALARM and on OK).
   * Missing data does not breach unless `options.treatMissingData` says otherwise.
   */
  alarm(scope: Construct, id: string, metric: IMetric, options: TallyfyAlarmOptions): Alarm {
    const alarm = new Alarm(scope, id, {
      metric,
      alarmDescription: options.description,
      threshold: options.threshold,
      comparisonOperator: options.comparison ?? ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      datapointsToAlarm: options.datapointsToAlarm,
      treatMissingData: options.treatMissingData ?? TreatMissingData.NOT_BREACHING,
    });
    return this.notify(alarm);
  }
}
