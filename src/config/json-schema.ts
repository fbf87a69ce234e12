// JSON Schema (draft 2020-12) of the config file, generated from the same zod
// schema load.ts validates with; printed by `wdmesh schema`. Rules spanning several
// fields (unique names, timeout < interval, ...) are not expressible here and are
// only enforced by `wdmesh validate` / `wdmesh run`.
import { z } from "zod";
import { configSchema } from "./schema.js";

/** The config file's JSON Schema, describing the file as written (input side). */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return {
    ...schema,
    title: "watchdog-mesh config",
  };
}
