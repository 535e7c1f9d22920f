import { defineConfig } from "vitest/config";

/** The chaos runs (`npm run test:chaos`): the distributed cluster under injected failures, run after run. */
export default defineConfig({
  test: {
    include: ["test/chaos/**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: ["default"],
  },
});
