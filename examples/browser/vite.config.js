// `vite build` builds only index.html unless told otherwise: this example has two pages.
import { fileURLToPath } from 'node:url';

const page = (name) => fileURLToPath(new URL(name, import.meta.url));

export default {
  build: {
    rolldownOptions: { input: [page('index.html'), page('code-interpreter.html')] },
  },
};
