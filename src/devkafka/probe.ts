/**
 * "Is the broker ready?" asked the way clients will ask it: a metadata request that lists at
 * least one live broker. An open port is not enough, since a KRaft broker listens before it has
 * registered with its controller and before it can serve metadata.
 */
// First: it replaces kafkajs' record decoder, which must happen before kafkajs loads.
import '../ingest/kafkajs-records.js';
import { Kafka, logLevel } from 'kafkajs';

/** True when bootstrap answers a DescribeCluster/Metadata request within about timeoutMs. */
export async function answersMetadata(bootstrap: string, timeoutMs = 2000): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'seismo-devkafka-probe',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(1000, timeoutMs),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
