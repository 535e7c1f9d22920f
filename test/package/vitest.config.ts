import { defineConfig } from "vitest/config";

/** The packaging test (`npm run test:package`): slow (it builds, packs and installs), so not in `npm test`. */
export default defineConfig({
  test: {
    include: ["test/package/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: "forks",
    reporters: ["default"],
  },
});
