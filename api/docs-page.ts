/**
 * GET /openapi.json (generated, api/openapi.ts) and GET /docs: Swagger UI from the swagger-ui-dist
 * npm package, served by this app, so the page works offline (no CDN).
 */
import path from 'node:path';
import express, { Router } from 'express';
import type { JobDeclaration } from '../workflows/declaration';
import { openApiDocument } from './openapi';

/** The package's folder (what its getAbsoluteFSPath() returns; the package ships no types). */
const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Conveyor API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', deepLinking: true, docExpansion: 'list' });\n`;

export function docsRouter(options: { jobs: JobDeclaration[]; allowPrivateNetworks: boolean; mailbox: boolean }): Router {
  const router = Router();
  const document = openApiDocument(options);
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  router.get('/docs', (_req, res) => {
    res.type('html').send(PAGE);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(INIT);
  });
  router.use('/docs/assets', express.static(SWAGGER_UI_DIR, { index: false, fallthrough: false }));
  return router;
}
