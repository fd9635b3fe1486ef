/**
 * Consumer groups and subscribers are singletons per namespace (`stream-consumer:users:signup-stats`),
 * as in production, where a namespace holds one deployment. Test files share one dev server, so a
 * file that asserts on those singletons gets a namespace of its own (created by global setup).
 */
export const ISOLATED_NAMESPACES = {
  streams: 'isolated-streams',
  consumerCrash: 'isolated-consumer-crash',
};
