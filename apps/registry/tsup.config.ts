import { defineConfig } from 'tsup';
import { serviceBundle } from '../../scripts/service-bundle.js';

export default defineConfig(serviceBundle({ main: 'src/main.ts' }));
