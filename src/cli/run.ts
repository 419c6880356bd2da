// Runs the CLI with the process arguments (used by tests and the tsx fallback).
import { main } from './main.js';

await main(process.argv);
