// The published JSON Schema comes from the same zod schema: draft 2020-12, every
// property described, and it accepts the example and rejects what the schema rejects.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { configJsonSchema } from "../../src/config/json-schema.js";

type S = Record<string, unknown>;
const KNOWN = new Set([
  "$schema",
  "title",
  "description",
  "type",
  "properties",
  "required",
  "additionalProperties",
  "propertyNames",
  "anyOf",
  "enum",
  "const",
  "pattern",
  "minimum",
  "maximum",
  "minLength",
  "items",
  "minItems",
  "minProperties",
  "maxProperties",
]);

/** A tiny validator for exactly the keywords the schema uses; unknown keywords fail loudly. */
function validate(schema: S, v: unknown, path = "$"): string[] {
  for (const k of Object.keys(schema)) if (!KNOWN.has(k)) return [`${path}: unsupported keyword ${k}`];
  const errs: string[] = [];
  if (schema.anyOf) {
    const branches = (schema.anyOf as S[]).map((b) => validate(b, v, path));
    if (!branches.some((b) => b.length === 0)) errs.push(`${path}: no anyOf branch matches`);
  }
  const type = schema.type as string | undefined;
  const isObj = typeof v === "object" && v !== null && !Array.isArray(v);
  if (type === "object" && !isObj) return [...errs, `${path}: not an object`];
  if (type === "array" && !Array.isArray(v)) return [...errs, `${path}: not an array`];
  if (type === "string" && typeof v !== "string") return [...errs, `${path}: not a string`];
  if (type === "number" && typeof v !== "number") return [...errs, `${path}: not a number`];
  if (type === "integer" && !Number.isInteger(v)) return [...errs, `${path}: not an integer`];
  if ("const" in schema && v !== schema.const) errs.push(`${path}: not ${String(schema.const)}`);
  if (schema.enum && !(schema.enum as unknown[]).includes(v)) errs.push(`${path}: not in enum`);
  if (typeof v === "string") {
    if (schema.pattern && !new RegExp(schema.pattern as string, "u").test(v)) errs.push(`${path}: pattern`);
    if (schema.minLength !== undefined && v.length < (schema.minLength as number))
      errs.push(`${path}: minLength`);
  }
  if (typeof v === "number") {
    if (schema.minimum !== undefined && v < (schema.minimum as number)) errs.push(`${path}: minimum`);
    if (schema.maximum !== undefined && v > (schema.maximum as number)) errs.push(`${path}: maximum`);
  }
  if (Array.isArray(v)) {
    if (schema.minItems !== undefined && v.length < (schema.minItems as number))
      errs.push(`${path}: minItems`);
    if (schema.items) v.forEach((x, i) => errs.push(...validate(schema.items as S, x, `${path}[${i}]`)));
  }
  if (isObj) {
    const o = v as S;
    const keys = Object.keys(o);
    const props = (schema.properties ?? {}) as Record<string, S>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in o)) errs.push(`${path}.${r}: required`);
    if (schema.minProperties !== undefined && keys.length < (schema.minProperties as number))
      errs.push(`${path}: minProperties`);
    if (schema.maxProperties !== undefined && keys.length > (schema.maxProperties as number))
      errs.push(`${path}: maxProperties`);
    for (const k of keys) {
      if (schema.propertyNames) errs.push(...validate(schema.propertyNames as S, k, `${path}.${k}(name)`));
      if (props[k]) errs.push(...validate(props[k], o[k], `${path}.${k}`));
      else if (schema.additionalProperties === false) errs.push(`${path}.${k}: additional property`);
      else if (typeof schema.additionalProperties === "object")
        errs.push(...validate(schema.additionalProperties as S, o[k], `${path}.${k}`));
    }
  }
  return errs;
}

const schema = configJsonSchema();
const example = parse(
  readFileSync(fileURLToPath(new URL("../../examples/mesh.yaml", import.meta.url)), "utf8"),
) as S;

void test("it is a draft 2020-12 object schema that is plain JSON", () => {
  assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.equal(schema.type, "object");
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.required, ["node"]);
  assert.deepEqual(JSON.parse(JSON.stringify(schema)), schema);
});

void test("every property of every object has a description", () => {
  const missing: string[] = [];
  const walk = (s: S, path: string): void => {
    for (const [k, p] of Object.entries((s.properties ?? {}) as Record<string, S>)) {
      const described = typeof p.description === "string" && p.description.length > 10;
      if (!described) missing.push(`${path}.${k}`);
      walk(p, `${path}.${k}`);
    }
    for (const b of (s.anyOf ?? []) as S[]) walk(b, path);
    if (s.items) walk(s.items as S, `${path}[]`);
    if (typeof s.additionalProperties === "object") walk(s.additionalProperties as S, `${path}.*`);
  };
  walk(schema, "$");
  assert.deepEqual(missing, []);
  // Units are stated.
  const text = JSON.stringify(schema);
  assert.match(text, /How often a healthy peer is probed \(ms number or duration string\)/);
});

void test("the example validates against it", () => {
  assert.deepEqual(validate(schema, example), []);
});

void test("it rejects what the config schema rejects (structure)", () => {
  const broken = structuredClone(example) as { node: S; peers: S[]; defaults: S; alerts: S[] };
  broken.node.nmae = "x";
  broken.defaults.interval = "5 minutes";
  (broken.peers[0] as { probe: S }).probe.tcp = { host: "h", port: 1 };
  (broken.alerts[0] as S).min_severity = "WARN";
  (broken.peers[1] as { restart: S }).restart = { systemd: { unit: "shield" } };
  const errs = validate(schema, broken);
  for (const frag of [
    "$.node.nmae",
    "$.defaults.interval",
    "$.peers[0].probe",
    "$.alerts[0].min_severity",
    "$.peers[1].restart",
  ]) {
    assert.ok(
      errs.some((e) => e.startsWith(frag)),
      `${frag} not rejected: ${errs.join("; ")}`,
    );
  }
});
