// The kubetee CLI run from the sources (through tsx), so the benchmark always
// measures the working tree and needs no `npm run build` first.
import { main } from '../../src/cli/main.js';

await main(process.argv);
