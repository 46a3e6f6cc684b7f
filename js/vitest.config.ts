import { defineConfig } from "vitest/config";

export default defineConfig({
  define: {
    // The layout worker's source is inlined by build.mjs; tests never start the worker.
    __LAYOUT_WORKER_SOURCE__: JSON.stringify(""),
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});
