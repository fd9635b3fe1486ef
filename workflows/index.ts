// The worker bundles this file: every workflow Conveyor runs is exported here.
export { deposit } from './deposit';
export { order } from './order';
export { shipment } from './shipment';
export { reaction, streamConsumer, topicSubscriber } from './streams';
export { welcomeEmail } from './welcome-email';
