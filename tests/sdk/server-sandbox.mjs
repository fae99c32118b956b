// A `Sandbox` subclass in the style of `@e2b/code-interpreter` and the server it talks to inside
// the sandbox. Free of Node built-ins: the Node tests and the Chromium page
// (tests/browser/subclass.test.mjs) load this same file.

export const SERVER_PORT = 8765;
// A server inside the sandbox that answers every request with what it received.
export const ECHO_SERVER = `
import http.server, json
class Echo(http.server.BaseHTTPRequestHandler):
    def answer(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode()
        reply = json.dumps({'method': self.command, 'path': self.path,
                            'headers': {k.lower(): v for k, v in self.headers.items()}, 'body': body}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Access-Control-Allow-Origin', '*')
        self.send_header('Content-Length', str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
    do_GET = do_POST = answer
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(('127.0.0.1', ${SERVER_PORT}), Echo).serve_forever()
`;

/** A subclass in the style of `@e2b/code-interpreter`: only `e2b`'s public and protected API. */
export function makeServerSandbox(Sandbox) {
  return class ServerSandbox extends Sandbox {
    static defaultTemplate = 'base';

    constructor(opts) {
      super(opts);
      this.constructedWith = Object.keys(opts);
    }

    get serverUrl() {
      return this.connectionConfig.getSandboxDirectUrl(this.sandboxId, {
        sandboxDomain: this.sandboxDomain,
        envdPort: SERVER_PORT,
      });
    }

    async echo(body, requestTimeoutMs) {
      const headers = {
        'Content-Type': 'application/json',
        'E2b-Sandbox-Id': this.sandboxId,
        'E2b-Sandbox-Port': SERVER_PORT.toString(),
      };
      if (this.trafficAccessToken) headers['E2B-Traffic-Access-Token'] = this.trafficAccessToken;
      if (this.envdAccessToken) headers['X-Access-Token'] = this.envdAccessToken;
      const res = await fetch(`${this.serverUrl}/execute`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: this.connectionConfig.getSignal(requestTimeoutMs ?? this.connectionConfig.requestTimeoutMs),
      });
      return res.json();
    }
  };
}

/** Starts the Python `script` (a server on `port`) in the background inside `sbx`; resolves once it answers. */
export async function startServerIn(sbx, script, port) {
  const file = `/tmp/server-${port}.py`;
  await sbx.files.write(file, script);
  await sbx.commands.run(`python3 ${file}`, { background: true });
  await sbx.commands.run(`for i in $(seq 100); do curl -s localhost:${port} >/dev/null && exit 0; sleep 0.05; done; exit 1`);
}
