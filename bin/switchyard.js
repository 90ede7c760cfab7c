#!/usr/bin/env node
// The `switchyard` executable: runs the TypeScript CLI through tsx, so `npx switchyard` needs no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../local/cli.ts");
await main(process.argv);
