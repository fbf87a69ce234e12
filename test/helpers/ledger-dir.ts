// The host's step ledger of the nodes a test file starts: its own directory, so test files
// running side by side never fence each other's steps (a mesh test that needs one shared
// ledger for its nodes, and a fresh one per test, sets node.ledger_dir in their configs).
// Imported for its effect: every child process of the file inherits WDMESH_LEDGER_DIR.
import { fileTempDir } from "./tmp-dir.js";

export const FILE_LEDGER_DIR: string = (process.env["WDMESH_LEDGER_DIR"] ??= fileTempDir("wdmesh-ledger-"));
