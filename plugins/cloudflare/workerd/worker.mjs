// A JavaScript worker that hosts Pyodide inside workerd and runs Python sent by the test.
//
// Pyodide's assets are modules of this worker (embedded by the generated config), not URLs:
// fetches of ASSETS_URL are answered from them, and the wasm module, which workerd compiles
// ahead of time (runtime code generation is off in workers), is instantiated directly. Every
// other fetch, including the Realtime upgrade the Python transport makes, is workerd's own.
import { loadPyodide } from "./pyodide.mjs";
import createPyodideModule from "./pyodide.asm.mjs";
import pyodideWasm from "./pyodide.asm.wasm";
import stdlib from "./python_stdlib.zip";
import lockFile from "./pyodide-lock.json";
import wheels from "./wheels.mjs";

const ASSETS_URL = "https://pyodide-assets.invalid/";
const assets = { "python_stdlib.zip": stdlib, "pyodide.asm.wasm": new ArrayBuffer(0) };

const runtimeFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  if (url.startsWith(ASSETS_URL)) {
    const body = assets[url.slice(ASSETS_URL.length)];
    return Promise.resolve(new Response(body ?? null, { status: body ? 200 : 404 }));
  }
  return runtimeFetch(input, init);
};
globalThis.location ??= new URL(ASSETS_URL);
WebAssembly.instantiateStreaming = async (_response, imports) => ({
  instance: await WebAssembly.instantiate(pyodideWasm, imports),
  module: pyodideWasm,
});

let pyodide = null;
let output = [];

async function boot() {
  pyodide = await loadPyodide({
    indexURL: ASSETS_URL,
    stdLibURL: ASSETS_URL + "python_stdlib.zip",
    lockFileContents: lockFile,
    createPyodideModule,
    stdout: (line) => output.push(line),
    stderr: (line) => output.push(line),
  });
  pyodide.globals.set("wheels", wheels);
  await pyodide.runPythonAsync(`
import io, sys, zipfile, importlib
site_packages = next(p for p in sys.path if p.endswith("site-packages"))
for pair in wheels:
    zipfile.ZipFile(io.BytesIO(pair[1].to_bytes())).extractall(site_packages)
importlib.invalidate_caches()
`);
}

export default {
  async fetch(request) {
    const started = Date.now();
    try {
      if (pyodide === null) await boot();
      output = [];
      const code = await request.text();
      const result = await pyodide.runPythonAsync(code);
      return Response.json({ ok: true, result: String(result), output, ms: Date.now() - started });
    } catch (error) {
      return Response.json({ ok: false, error: String(error && error.stack || error), output });
    }
  },
};
