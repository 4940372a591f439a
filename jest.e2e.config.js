/**
 * The end-to-end tests: the bundled action run as the runner runs it, against a real engine, a loopback
 * registry and real QEMU. They change the host's binfmt_misc, so they run one at a time, only after
 * test/e2e/setup.sh (npm run test:e2e does both).
 */
import base from './jest.config.js'

export default {
  ...base,
  testMatch: ['**/__tests__/e2e/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
  testTimeout: 300_000
}
