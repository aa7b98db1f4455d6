// JSON-RPC kernel exports (issue 3). Re-exported by assembly/index.ts.
