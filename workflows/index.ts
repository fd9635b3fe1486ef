// The worker bundles this file: every workflow Conveyor runs is exported here.
export { deposit } from './deposit';
export { welcomeEmail } from './welcome-email';
