import { Kafka, logLevel, Partitioners } from 'kafkajs';
const kafka = new Kafka({ clientId: 'rejoin', brokers: ['127.0.0.1:9092'], logLevel: logLevel.WARN });
const t = 'rejoin-' + Date.now(); const g = 'grp-' + t;
const admin = kafka.admin(); await admin.connect(); await admin.createTopics({ topics: [{ topic: t, numPartitions: 3 }], waitForLeaders: true });
const cs = [kafka.consumer({ groupId: g, sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 6000 }), kafka.consumer({ groupId: g, sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 6000 })];
for (const c of cs) { await c.connect(); await c.subscribe({ topic: t, fromBeginning: true }); }
for (const c of cs) await c.run({ eachMessage: async () => {} });
await new Promise((r) => setTimeout(r, 8000));
console.log('disconnecting', new Date().toISOString());
for (const c of cs) await c.disconnect();
console.log('disconnected', new Date().toISOString(), g);
await new Promise((r) => setTimeout(r, 15000));
console.log((await admin.describeGroups([g])).groups[0].state);
await admin.disconnect();
