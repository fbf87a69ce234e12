// Field builders shared by the config schema's sections (schema.ts and its parts): each
// takes the field's description and returns a zod type with its checks and error texts.
import { z } from "zod";
import {
  ARGV0_HELP,
  ARGV_EMPTY_HELP,
  ARGV_ITEM_HELP,
  DURATION_HELP,
  DURATION_RE,
  isAbsoluteProgram,
  NAME_HELP,
  NAME_RE,
  UNIT_HELP,
  UNIT_RE,
} from "../core/rules.js";
import { HEADER_NAME_RE, isHttpUrl } from "./rules.js";

export const duration = (description: string) =>
  z
    .union(
      [
        z.string().regex(DURATION_RE, { error: DURATION_HELP }),
        z.number().int({ error: DURATION_HELP }).min(0, { error: DURATION_HELP }),
      ],
      { error: DURATION_HELP },
    )
    .describe(description);

export const name = (description: string) =>
  z
    .string()
    .regex(NAME_RE, { error: `is not a valid name; ${NAME_HELP}` })
    .describe(description);

export const hostName = (description: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/, {
      error: 'must be a host name, e.g. "web-1" or "web-1.example.net"',
    })
    .describe(description);

export const httpUrl = (description: string) =>
  z
    .string()
    .refine(isHttpUrl, { error: "must be an http(s) URL, e.g. http://127.0.0.1:9770/health" })
    .describe(description);

export const count = (min: number, max: number, description: string) =>
  z
    .number()
    .int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, { error: `must be a whole number from ${min} to ${max}` })
    .max(max, { error: `must be a whole number from ${min} to ${max}` })
    .describe(description);

export const secret = (description: string, minLength = 1) =>
  z
    .string()
    .min(minLength, {
      error:
        minLength > 1
          ? `must be at least ${minLength} characters; generate one with \`openssl rand -hex 32\``
          : "must not be empty",
    })
    .describe(description);

export const headers = (description: string) =>
  z
    .record(
      z.string().regex(HEADER_NAME_RE, { error: "is not a valid HTTP header name" }),
      z
        .string()
        .refine((v) => !/[\r\n\0]/.test(v), { error: "must not contain CR, LF or NUL" })
        .describe("Header value. Treated as a secret: never logged, masked by `wdmesh validate`."),
    )
    .describe(description);

export const argv = (description: string) =>
  z
    .array(z.string().min(1, { error: ARGV_ITEM_HELP }))
    .min(1, { error: ARGV_EMPTY_HELP })
    .refine((a) => typeof a[0] !== "string" || isAbsoluteProgram(a[0]), {
      error: ARGV0_HELP,
    })
    .describe(description);

export const unit = (description: string) =>
  z
    .string()
    .regex(UNIT_RE, {
      error: UNIT_HELP,
    })
    .describe(description);
