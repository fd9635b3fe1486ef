import { isSupportedNode } from '../platform/node-version';

test('Node 22 and 24 are supported; 20 and 18 are refused', () => {
  expect(isSupportedNode('v22.23.3')).toBe(true);
  expect(isSupportedNode('24.21.0')).toBe(true);
  expect(isSupportedNode('v20.20.2')).toBe(false);
  expect(isSupportedNode('18.20.0')).toBe(false);
  expect(isSupportedNode(process.version)).toBe(true);
});
