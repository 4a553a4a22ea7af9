#!/usr/bin/env node
// The kubectl plugin entry: `kubectl p99sleuth investigate deploy/checkout -n shop` runs this with
// the arguments after the plugin name. Same program; help and errors name it as kubectl users type it.
import { main } from '../dist/src/cli/main.js';
await main(process.argv, { name: 'kubectl p99sleuth' });
