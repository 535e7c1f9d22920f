import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // The package's own name resolves to its sources, as tsconfig.json's paths say.
  resolve: {
    alias: [
      { find: /^switchyard-fsm$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
      { find: /^switchyard-fsm\/lambda$/, replacement: fileURLToPath(new URL("./src/lambda/index.ts", import.meta.url)) },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/package/**", "test/chaos/**", "**/node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // Probes PostgreSQL, Redis and Memcached; starts the missing ones it finds installed, or has
    // their suites skipped (failed with CI set). See test/support/global-setup.ts.
    globalSetup: ["test/support/global-setup.ts"],
    reporters: ["default"],
  },
});
