// The official Node tus server with its file store, as its README starts it: the peer bench/surge.py
// measures the product's tus endpoint against.
//   node bench/tus_node_server.mjs INSTALL_DIR PORT STORE_DIR     (INSTALL_DIR from scripts/tus-node.sh)
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [installed, port, directory] = process.argv.slice(2);
// The packages live in INSTALL_DIR/node_modules, outside this folder.
const resolve = createRequire(`${installed}/package.json`).resolve;
const { Server } = await import(pathToFileURL(resolve("@tus/server")));
const { FileStore } = await import(pathToFileURL(resolve("@tus/file-store")));

const server = new Server({ path: "/uploads", datastore: new FileStore({ directory }) });
server.listen({ host: "127.0.0.1", port: Number(port) });
