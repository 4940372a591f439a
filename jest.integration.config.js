/** Tests against real services this machine runs for them (a registry): npm run test:integration. */
import base from './jest.config.js'

export default { ...base, testMatch: ['**/__tests__/integration/**/*.test.ts'], testPathIgnorePatterns: ['/node_modules/'] }
