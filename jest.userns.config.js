/** The tests that register entries: run only inside a private user namespace (npm run test:userns). */
import base from './jest.config.js'

export default { ...base, testMatch: ['**/__tests__/userns/**/*.test.ts'], testPathIgnorePatterns: ['/node_modules/'] }
