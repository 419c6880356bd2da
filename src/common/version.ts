import { readFileSync } from 'node:fs';

// Both src/common/ (tsx) and dist/common/ (compiled) sit two levels below the package root.
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
};

export const PACKAGE_NAME: string = pkg.name;
export const VERSION: string = pkg.version;
