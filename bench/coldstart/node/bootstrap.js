// A minimal Lambda custom runtime loop (the Runtime API a provided runtime
// polls), so the Node handler runs exactly like the Go bootstrap in the
// cold-start benchmark: process start -> first invocation answered.
const http = require('http');
const { handler } = require('./handler');
const api = process.env.AWS_LAMBDA_RUNTIME_API;

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: api.split(':')[0], port: api.split(':')[1], path, method }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

(async () => {
  for (;;) {
    const next = await request('GET', '/2018-06-01/runtime/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    try {
      const out = await handler(JSON.parse(next.body));
      await request('POST', `/2018-06-01/runtime/invocation/${id}/response`, JSON.stringify(out));
    } catch (e) {
      await request('POST', `/2018-06-01/runtime/invocation/${id}/error`, JSON.stringify({ errorMessage: String(e.message), errorType: e.name }));
    }
  }
})();
