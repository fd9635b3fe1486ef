// The worker bundles this file: every workflow Conveyor runs is exported here.
export { welcomeEmail } from './welcome-email';
