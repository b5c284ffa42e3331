/**
 * Where alarms go: an SNS topic (ours, or the customer's) with an optional e-mail subscription.
 * Each part adds its own alarms through {@link AlarmTopic.notify}.
 */
import { type Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeRule } from './nag.ts';

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

  /** Alarms as soon as one message sits in `deadLetterQueue`. */
  alarmOnDeadLetters(deadLetterQueue: IQueue): Alarm {
    const alarm = deadLetterQueue
      .metricApproximateNumberOfMessagesVisible()
      .createAlarm(this, 'DeadLetters', {
        alarmDescription:
          'Events failed 5 times and wait in the dead-letter queue: see docs/operations.md for replay.',
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    return this.notify(alarm);
  }
}
