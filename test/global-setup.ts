/**
 * vitest globalSetup: makes one Kafka available to every test file. SEISMO_KAFKA_BROKERS (a
 * comma list) points the tests at an existing cluster; otherwise the local broker from
 * src/devkafka is started on 127.0.0.1:9092, or reused when it is already running.
 *
 * The broker is left running afterwards, on purpose: the next run (and any other test run or
 * demo sharing it at the same moment) reuses it instead of paying a JVM start, and stopping it
 * here could pull it out from under a concurrent run. `seismo kafka stop` ends it; .ci/run does.
 */
import type { TestProject } from 'vitest/node';
import { startBroker } from '../src/devkafka/broker.js';
import { describeError } from '../src/errors.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Bootstrap addresses for tests (empty when no Kafka could be made available). */
    kafkaBrokers: string[];
    /** Why there is no Kafka, so Kafka tests fail with the reason instead of a timeout. */
    kafkaError: string | null;
    /** Port of the local broker started or reused here; null for an external cluster. */
    kafkaLocalPort: number | null;
  }
}

const LOCAL_PORT = 9092;

/** Starts or reuses Kafka once per test run and provides its address to the tests. */
export default async function setup(project: TestProject): Promise<void> {
  const external = process.env.SEISMO_KAFKA_BROKERS?.trim();
  if (external) {
    project.provide('kafkaBrokers', external.split(',').map((b) => b.trim()).filter((b) => b !== ''));
    project.provide('kafkaError', null);
    project.provide('kafkaLocalPort', null);
    return;
  }
  try {
    const b = await startBroker({ port: LOCAL_PORT, log: (line) => process.stderr.write(`[kafka] ${line}\n`) });
    if (!b.reused) process.stderr.write(`[kafka] started ${b.bootstrap} (pid ${b.pid}); left running after the tests: seismo kafka stop\n`);
    project.provide('kafkaBrokers', [b.bootstrap]);
    project.provide('kafkaError', null);
    project.provide('kafkaLocalPort', LOCAL_PORT);
  } catch (err) {
    // Unit tests need no Kafka: report once here, and let Kafka tests fail with this reason.
    const reason = `no Kafka for the tests: ${describeError(err)}`;
    process.stderr.write(`[kafka] ${reason}\n`);
    project.provide('kafkaBrokers', []);
    project.provide('kafkaError', reason);
    project.provide('kafkaLocalPort', null);
  }
}
