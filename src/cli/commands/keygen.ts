// keygen: a node's own Ed25519 identity. Writes the private key (PKCS#8 PEM, mode
// 0600, never over an existing file) and prints the public key the other nodes list
// as mesh.members[].public_key.
import { EXIT, UsageError } from "../cli-error.js";
import { positionals, str, type Command } from "../command.js";

export const keygenCommand: Command = {
  name: "keygen",
  summary: "create this node's Ed25519 identity key and print its public key",
  usage: "wdmesh keygen --out FILE",
  details:
    "Writes the private key to FILE (mode 0600; an existing file is never overwritten) and prints the\n" +
    "public key. Use it with node.identity: ${file:FILE} on this node, and list the public key as\n" +
    "mesh.members[].public_key on the other nodes.",
  options: [
    {
      name: "out",
      short: "o",
      type: "string",
      arg: "FILE",
      help: "where to write the private key (required)",
    },
  ],
  examples: ["wdmesh keygen --out /etc/wdmesh/node.key"],
  async run(args, io) {
    positionals(this, args, []);
    const out = str(args, "out");
    if (out === undefined || out === "")
      throw new UsageError(
        'missing --out FILE for "wdmesh keygen"',
        "e.g. wdmesh keygen --out /etc/wdmesh/node.key",
      );
    const { writeFileSync } = await import("node:fs");
    const { generateIdentity } = await import("../../core/identity.js");
    const id = generateIdentity();
    try {
      // "wx": fail if it exists; 0600 from the start (no window where others could read it).
      writeFileSync(out, id.privatePem, { mode: 0o600, flag: "wx" });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      io.err(
        code === "EEXIST"
          ? `wdmesh keygen: ${out} already exists; it is left as it was (move it away to make a new key)\n`
          : `wdmesh keygen: cannot write ${out}: ${(e as Error).message}\n`,
      );
      return EXIT.FAILURE;
    }
    io.out(`${id.publicKey}\n`);
    io.err(
      `wrote ${out} (mode 0600). On this node: node.identity: \${file:${out}}\n` +
        `On the other nodes, under this node's entry in mesh.members: public_key: ${id.publicKey}\n`,
    );
    return EXIT.OK;
  },
};
