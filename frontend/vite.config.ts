/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The API the dev server hands requests to (`make dev-frontend` starts one on 8000).
const backend = process.env.VOCALIS_BACKEND ?? "http://127.0.0.1:8000";
// "/billing/" with its slash: /billing itself is the dashboard's page, the API is below it.
const apiPaths = ["/v1", "/auth", "/account", "/billing/", "/admin/api", "/webhooks", "/docs", "/openapi.json", "/health", "/readyz"];

export default defineConfig({
  plugins: [react()],
  build: {
    // Inside the Python package: the server serves it, and the wheel carries it.
    outDir: "../src/vocalis/web/dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 900,
  },
  server: {
    port: 5173,
    proxy: Object.fromEntries(apiPaths.map((path) => [path, { target: backend, changeOrigin: false }])),
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["src/test/setup.ts"],
    css: false,
  },
});
