import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Operation } from './types.js';
import { basePath } from './types.js';
import { StaticAssets } from './static-assets.js';
import { Problem } from './problem.js';
import type { Services } from './context.js';

const require = createRequire(import.meta.url);
// The package's main module loads the whole UI bundle into Node (megabytes of heap and
// startup time) just to say where its files are; this asks the file that only knows that.
const uiDir: string = path.dirname(require.resolve('swagger-ui-dist/absolute-path.js'));

const assetTypes: Record<string, string> = {
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.html': 'text/html; charset=utf-8',
  '.map': 'application/json',
};

// Swagger UI from the swagger-ui-dist package on local disk; nothing is fetched from a CDN.
const page = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>jobs-service API</title>
    <link rel="stylesheet" type="text/css" href="${basePath}/ui/swagger-ui.css" />
    <link rel="stylesheet" type="text/css" href="${basePath}/ui/index.css" />
    <link rel="icon" type="image/png" href="${basePath}/ui/favicon-32x32.png" sizes="32x32" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${basePath}/ui/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="${basePath}/ui/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="${basePath}/ui/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
`;

const initializer = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '${basePath}/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    tryItOutEnabled: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
  });
};
`;

// Swagger UI's files come from the installed package, whose version the lock file pins: an
// hour of freshness, then a revalidation by ETag. The page and its initializer are this
// service's own and revalidated at every load.
const uiFiles = 'public, max-age=3600';
const ownFiles = 'no-cache';

export function documentOperations(s: Services): Record<string, Operation> {
  const assets = new Set(fs.readdirSync(uiDir));
  const files = new StaticAssets(uiFiles);
  return {
    getOpenApiJson: () => ({ status: 200, body: s.doc }),
    // The path the Python (Connexion) service served its document at.
    getSwaggerJson: () => ({ status: 200, body: s.doc }),
    getOpenApiYaml: () => ({ status: 200, body: s.yaml, type: 'application/yaml; charset=utf-8' }),
    getSwaggerUi: ({ headers }) => files.send('(page)', () => Buffer.from(page), 'text/html; charset=utf-8', headers, ownFiles),
    getSwaggerUiAsset: ({ params, headers }) => {
      const asset = params.asset;
      if (asset === 'swagger-initializer.js') return files.send('(initializer)', () => Buffer.from(initializer), assetTypes['.js'], headers, ownFiles);
      if (!assets.has(asset) || asset === 'index.html') throw new Problem(404, 'Not found', `no file '${asset}' in Swagger UI`);
      return files.send(asset, () => fs.promises.readFile(path.join(uiDir, asset)), assetTypes[path.extname(asset)] ?? 'application/octet-stream', headers);
    },
  };
}
