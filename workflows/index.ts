// The worker bundles this file: every workflow Conveyor runs is exported here (one line per job
// type in workflows/registry.ts).
export { deposit } from './deposit/workflow';
export { lane } from './lane/workflow';
export { order } from './order/workflow';
export { restock } from './restock/workflow';
export { shipment } from './shipment/workflow';
export { reaction, streamConsumer, topicSubscriber } from './streams/workflow';
export { webhookDelivery } from './webhook-delivery/workflow';
export { welcomeEmail } from './welcome-email/workflow';
