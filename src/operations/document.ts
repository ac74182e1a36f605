import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Operation } from './types.js';
import { basePath } from './types.js';
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

export function documentOperations(s: Services): Record<string, Operation> {
  const assets = new Set(fs.readdirSync(uiDir));
  return {
    getOpenApiJson: () => ({ status: 200, body: s.doc }),
    getOpenApiYaml: () => ({ status: 200, body: s.yaml, type: 'application/yaml; charset=utf-8' }),
    getSwaggerUi: () => ({ status: 200, body: page, type: 'text/html; charset=utf-8' }),
    getSwaggerUiAsset: ({ params }) => {
      const asset = params.asset;
      if (asset === 'swagger-initializer.js') return { status: 200, body: initializer, type: assetTypes['.js'] };
      if (!assets.has(asset) || asset === 'index.html') throw new Problem(404, 'Not found', `no file '${asset}' in Swagger UI`);
      return {
        status: 200,
        body: fs.createReadStream(path.join(uiDir, asset)),
        type: assetTypes[path.extname(asset)] ?? 'application/octet-stream',
        headers: { 'Cache-Control': 'public, max-age=3600' },
      };
    },
  };
}
